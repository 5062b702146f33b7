import { readFileSync } from 'node:fs';
import { expect, test, type Page } from '@playwright/test';
import { openApp, seedBox } from './helpers';

// A seeded fuzz of the whole page (tiny-bundle, WASM): prompts mixing the bundle's words, junk, punctuation,
// unicode and very long input; bad seeds; every model and step count; rapid re-clicks, comparisons, Cancel,
// history. Every action must end — no busy bar or busy panel left — with an image or a message, and the page
// must log no error, throw nothing and reject no promise unhandled. A failure names the case to replay:
// FUZZ_SEED=<seed> FUZZ_RUNS=<n> reproduce the same sequence.

const FUZZ_SEED = Number(process.env.FUZZ_SEED ?? 18);
const RUNS = Number(process.env.FUZZ_RUNS ?? 100);
/** An action that has not ended by then is stuck (the teacher's 25 steps take well under a second here). */
const SETTLE_MS = 20_000;

const vocabulary = (
  JSON.parse(readFileSync(new URL('../fixtures/tiny-bundle/manifest.json', import.meta.url), 'utf8')) as {
    vocabulary: { words: string[]; colors: string[]; shapes: string[]; sizes: string[]; backgrounds: string[]; relations: string[]; counts: string[] };
  }
).vocabulary;

/** mulberry32: a tiny seeded PRNG, so that a failing sequence replays exactly. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

type Rng = () => number;
const pick = <T,>(rng: Rng, xs: readonly T[]): T => xs[Math.floor(rng() * xs.length)] as T;
const chance = (rng: Rng, p: number): boolean => rng() < p;

function object(rng: Rng): string {
  const size = chance(rng, 0.4) ? `${pick(rng, vocabulary.sizes)} ` : '';
  const phrase = `${size}${pick(rng, vocabulary.colors)} ${pick(rng, vocabulary.shapes)}`;
  return `${/^[aeiou]/.test(phrase) ? 'an' : 'a'} ${phrase}`;
}

/** The bundle's grammar (distill/domain/grammar.py's parse_prompt): one object, two joined by "and" or a relation, or a count. */
function grammatical(rng: Rng): string {
  const r = rng();
  const body =
    r < 0.3
      ? object(rng)
      : r < 0.6
        ? `${object(rng)} ${pick(rng, vocabulary.relations)} ${object(rng)}`
        : r < 0.8
          ? `${object(rng)} and ${object(rng)}`
          : `${pick(rng, vocabulary.counts)} ${pick(rng, vocabulary.colors)} ${pick(rng, vocabulary.shapes)}s`;
  return chance(rng, 0.3) ? `${body} on a ${pick(rng, vocabulary.backgrounds)} background` : body;
}

const JUNK = ['zebra', 'circel', 'bleu', 'x', '=', '1', '42', 'next', 'teh', 'qwertyuiop', 'undefined', 'null', 'NaN', '__proto__', 'constructor'];
const UNICODE = ['🔴', '🟦⭐', 'ａ ｒｅｄ ｃｉｒｃｌｅ', 'a réd círcle', '赤い丸', 'דוגמה', 'c\u0301ircle', 'red\u200bcircle', '\u202eelcric der a', 'ß', 'İ', '\u00a0'];
const INJECTION = ['<img src=x onerror=alert(1)>', '"; DROP TABLE prompts; --', '{{7*7}}', '${alert(1)}', '%s%s%n', '../../etc/passwd', '\\'];
const PUNCT = ['.', '!', '?', ',', ';', '...', ' .', '"', "'", ')', '-'];

function prompt(rng: Rng): string {
  const r = rng();
  if (r < 0.35) return grammatical(rng);
  if (r < 0.5) {
    const p = grammatical(rng);
    return chance(rng, 0.5) ? `${p}${pick(rng, PUNCT)}` : chance(rng, 0.5) ? p.toUpperCase() : `  ${p.replace(/ /g, ', ')}  `;
  }
  if (r < 0.6) return Array.from({ length: 1 + Math.floor(rng() * 6) }, () => pick(rng, vocabulary.words)).join(' ');
  if (r < 0.7) return `${grammatical(rng)} ${pick(rng, JUNK)}`;
  if (r < 0.78) return chance(rng, 0.5) ? pick(rng, UNICODE) : `${grammatical(rng)} ${pick(rng, UNICODE)}`;
  if (r < 0.83) return pick(rng, INJECTION);
  if (r < 0.87) return pick(rng, ['', ' ', '   ', '\t', '.', '?!', ',,,', '""']);
  if (r < 0.94) return Array.from({ length: 40 + Math.floor(rng() * 200) }, () => grammatical(rng)).join(' and ');
  if (r < 0.98) return `${grammatical(rng)} ${pick(rng, ['y', 'ab', '🔴']).repeat(500 + Math.floor(rng() * 3000))}`;
  return Array.from({ length: 1 + Math.floor(rng() * 5) }, () => String.fromCharCode(33 + Math.floor(rng() * 94))).join('');
}

const BAD_SEEDS = ['abc', '-1', '1.5', '4294967296', '99999999999999999999999', '', ' ', '1e3', '0x10', '00000000000000000001', ' 42 ', '+7', '٣'];

function seed(rng: Rng): string {
  const r = rng();
  if (r < 0.8) return String(Math.floor(rng() * 1000));
  if (r < 0.88) return String(Math.floor(rng() * 4294967296));
  return pick(rng, BAD_SEEDS);
}

type Action = 'click' | 'enter' | 'reclick' | 'compare' | 'cancel' | 'history' | 'single';

interface FuzzCase {
  i: number;
  prompt: string;
  seed: string;
  model: 'Flash' | 'Teacher';
  steps: 1 | 2 | 3;
  noiseCorrection: boolean;
  action: Action;
  /** clicks of a rapid re-click */
  clicks: number;
}

function fuzzCase(rng: Rng, i: number): FuzzCase {
  const r = rng();
  const action: Action = r < 0.35 ? 'click' : r < 0.47 ? 'enter' : r < 0.59 ? 'reclick' : r < 0.71 ? 'compare' : r < 0.83 ? 'cancel' : r < 0.9 ? 'history' : 'single';
  return {
    i,
    prompt: prompt(rng),
    seed: seed(rng),
    // the teacher's 25 steps are the runs long enough to cancel
    model: chance(rng, action === 'cancel' ? 0.7 : 0.2) ? 'Teacher' : 'Flash',
    steps: pick(rng, [1, 2, 3] as const),
    noiseCorrection: chance(rng, 0.8),
    action,
    clicks: 2 + Math.floor(rng() * 7),
  };
}

/** The case as a failure message prints it (a long prompt shortened, its length kept). */
function describe(c: FuzzCase): string {
  const p = c.prompt.length > 80 ? `${c.prompt.slice(0, 80)}… (${c.prompt.length} chars)` : c.prompt;
  return `case ${c.i} of FUZZ_SEED=${FUZZ_SEED}: ${JSON.stringify({ ...c, prompt: p })}`;
}

interface PageState {
  busy: boolean;
  alerts: string[];
  paints: number;
  /** per comparison cell: an image, a failure mark, or still pending; null outside the comparison */
  grid: ('image' | 'failed' | 'pending')[] | null;
  overflow: number;
}

const pageState = (page: Page): Promise<PageState> =>
  page.evaluate(() => {
    const compare = document.querySelector('section[aria-label="Step comparison"]');
    const perf = (window as unknown as { imagineFlashPerf?: { paints: unknown[] } }).imagineFlashPerf;
    return {
      busy: document.querySelector('[data-testid=busy], [aria-busy=true]') !== null,
      alerts: Array.from(document.querySelectorAll('[role=alert]'), (e) => (e.textContent ?? '').slice(0, 200)),
      paints: perf?.paints.length ?? 0,
      grid: compare
        ? Array.from(compare.querySelectorAll('.compare-grid li'), (li) => (li.querySelector('canvas') ? 'image' : li.querySelector('.failed') ? 'failed' : 'pending'))
        : null,
      overflow: document.documentElement.scrollWidth - window.innerWidth,
    };
  });

/** What changed on the page since watchChanges: a message put up or rewritten, the comparison re-drawn. */
interface Changes {
  alert: boolean;
  grid: boolean;
}

/**
 * Starts recording changes for the next action. What the page already showed (an earlier message, a finished
 * comparison) is the state before the action, not its ending: without this, a click that does nothing would pass.
 */
const watchChanges = (page: Page): Promise<void> =>
  page.evaluate(() => {
    const w = window as unknown as { fuzzChanges: Changes; fuzzObserver?: MutationObserver };
    w.fuzzObserver?.disconnect();
    const changes: Changes = { alert: false, grid: false };
    w.fuzzChanges = changes;
    const elementOf = (n: Node): Element | null => (n instanceof Element ? n : n.parentElement);
    const holds = (n: Node, selector: string): boolean => n instanceof Element && (n.matches(selector) || n.querySelector(selector) !== null);
    w.fuzzObserver = new MutationObserver((records) => {
      for (const r of records) {
        const at = elementOf(r.target);
        if (at?.closest('[role=alert]') || Array.from(r.addedNodes).some((n) => holds(n, '[role=alert]'))) changes.alert = true;
        if (at?.closest('.compare-grid') || [...Array.from(r.addedNodes), ...Array.from(r.removedNodes)].some((n) => holds(n, '.compare-grid'))) changes.grid = true;
      }
    });
    w.fuzzObserver.observe(document.body, { subtree: true, childList: true, characterData: true });
  });

const changesSince = (page: Page): Promise<Changes> => page.evaluate(() => (window as unknown as { fuzzChanges: Changes }).fuzzChanges);

/** The message the form itself gives for the case, with no run: an empty prompt or a seed that is not one. */
function inputMessage(c: FuzzCase): string | null {
  if (c.prompt.trim() === '') return 'Enter a prompt first.';
  const digits = c.seed.trim();
  if (!/^\d+$/.test(digits) || Number(digits.replace(/^0+(?=\d)/, '')) > 2 ** 32 - 1) return 'Seed';
  return null;
}

/**
 * Ended: nothing busy, and something new: an image painted on the main canvas, a message put up (or the same
 * form message again, which the page has no new way to say), or a comparison re-drawn with every cell decided.
 */
function ended(s: PageState, before: PageState, changes: Changes, sameInputMessage: string | null): boolean {
  if (s.busy) return false;
  if (s.paints > before.paints) return true;
  if (s.alerts.length > 0 && changes.alert) return true;
  if (sameInputMessage !== null && s.alerts.length > 0 && s.alerts.join('|') === before.alerts.join('|') && s.alerts.some((a) => a.includes(sameInputMessage))) return true;
  return changes.grid && s.grid !== null && s.grid.length > 0 && s.grid.every((g) => g !== 'pending');
}

/** Uncaught errors and unhandled rejections of the page, and errors of its workers, as the page sees them. */
async function watchErrors(page: Page): Promise<string[]> {
  const errors: string[] = [];
  page.on('pageerror', (err) => errors.push(`pageerror: ${err.message}`));
  page.on('console', (msg) => {
    if (msg.type() === 'error') errors.push(`console.error: ${msg.text()}`);
  });
  await page.exposeFunction('fuzzReport', (what: string) => errors.push(what));
  await page.addInitScript(() => {
    const report = (window as unknown as { fuzzReport: (w: string) => void }).fuzzReport;
    window.addEventListener('unhandledrejection', (e) => report(`unhandledrejection: ${String(e.reason)}`));
    const Native = window.Worker;
    window.Worker = class extends Native {
      constructor(url: string | URL, options?: WorkerOptions) {
        super(url, options);
        this.addEventListener('error', (e) => report(`worker error: ${e.message}`));
        this.addEventListener('messageerror', () => report('worker messageerror'));
      }
    };
  });
  return errors;
}

async function setForm(page: Page, c: FuzzCase): Promise<void> {
  await page.getByLabel('Prompt', { exact: true }).fill(c.prompt);
  await seedBox(page).fill(c.seed);
  const models = page.getByRole('radiogroup', { name: 'Model' });
  if (c.model === 'Flash') {
    await models.getByRole('radio', { name: 'Flash', exact: true }).check();
    await page.getByRole('radiogroup', { name: 'Steps' }).getByRole('radio', { name: String(c.steps), exact: true }).check();
    await page.getByLabel('Noise correction').setChecked(c.noiseCorrection);
  } else {
    await models.getByRole('radio', { name: 'Teacher', exact: true }).check();
  }
}

/** Resolves to whether Cancel was clicked. */
async function act(page: Page, c: FuzzCase): Promise<boolean> {
  const submit = page.locator('form[aria-label="Generate an image"] button[type=submit]');
  switch (c.action) {
    case 'click':
      await submit.click();
      return false;
    case 'enter':
      await page.getByLabel('Prompt', { exact: true }).press('Enter');
      return false;
    case 'reclick':
      // faster than any run can finish: all clicks within one task
      await submit.evaluate((b, n) => {
        for (let k = 0; k < n; k++) (b as HTMLButtonElement).click();
      }, c.clicks);
      return false;
    case 'compare': {
      const compare = page.getByRole('button', { name: 'Compare steps' });
      if (c.clicks % 3 === 0) await compare.dblclick();
      else await compare.click();
      return false;
    }
    case 'cancel':
      // Generate, then Cancel after 0–300 ms: through the DOM, since the busy bar (and its Cancel) is hidden for
      // its first 150 ms; a run already over by then is not a failure
      return submit.evaluate(async (b, delay) => {
        (b as HTMLButtonElement).click();
        await new Promise((r) => setTimeout(r, delay));
        const cancel = document.querySelector<HTMLButtonElement>('[data-testid=busy] button');
        cancel?.click();
        return cancel !== null;
      }, c.clicks * 40 - 80);
    case 'history': {
      // another image than the one shown (the shown one's thumbnail changes nothing)
      const thumbs = page.locator('[data-testid=history] li:not(.current) button.thumb');
      const n = await thumbs.count();
      if (n > 0) await thumbs.nth(c.clicks % n).click();
      else await submit.click();
      return false;
    }
    case 'single': {
      const back = page.getByRole('button', { name: 'Back to single image' });
      if ((await back.count()) > 0) await back.click();
      await submit.click();
      return false;
    }
    default: {
      const never: never = c.action;
      throw new Error(`unknown action ${String(never)}`);
    }
  }
}

test(`fuzz: ${RUNS} seeded actions end with an image or a message, and the page logs no error`, async ({ page }) => {
  test.setTimeout(60_000 + RUNS * 2_000);
  const errors = await watchErrors(page);
  await openApp(page, '?bundle=tiny-bundle');
  const rng = prng(FUZZ_SEED);
  const outcomes: Record<string, number> = {};
  const trace: string[] = [];
  try {
    for (let i = 0; i < RUNS; i++) {
      const c = fuzzCase(rng, i);
      // the second half at phone width, where nothing may make the page wider than the screen either
      if (i === Math.floor(RUNS / 2)) await page.setViewportSize({ width: 375, height: 740 });
      trace.push(describe(c));
      await setForm(page, c);
      const before = await pageState(page);
      const paintsBefore = before.paints;
      // a history click shows an image whatever the form says; any other action with a bad form only repeats its message
      const showsHistory = c.action === 'history' && (await page.locator('[data-testid=history] li:not(.current) button.thumb').count()) > 0;
      const sameInputMessage = showsHistory ? null : inputMessage(c);
      await watchChanges(page);
      const cancelled = await act(page, c);
      let last = await pageState(page);
      await expect
        .poll(
          async () => {
            last = await pageState(page);
            return ended(last, before, await changesSince(page), sameInputMessage) || (cancelled && !last.busy);
          },
          { message: `${describe(c)} did not end within ${SETTLE_MS} ms with an image or a message`, timeout: SETTLE_MS, intervals: [20, 50, 100, 250] },
        )
        .toBe(true);
      if (cancelled) {
        // a cancelled run never lands later
        const paints = last.paints;
        await page.waitForTimeout(300);
        expect((await pageState(page)).paints, `${describe(c)}: an image arrived after Cancel`).toBe(paints);
      }
      expect(errors, describe(c)).toEqual([]);
      expect(last.overflow, `${describe(c)}: the page is wider than the window`).toBeLessThanOrEqual(1);
      const outcome = cancelled ? 'cancelled' : last.alerts.length > 0 ? 'message' : last.paints > paintsBefore ? 'image' : 'comparison';
      outcomes[outcome] = (outcomes[outcome] ?? 0) + 1;
      trace.push(`  → ${outcome}${last.alerts.length ? `: ${last.alerts.join(' | ')}` : ''}`);
    }
  } finally {
    test.info().annotations.push({ type: 'fuzz outcomes', description: JSON.stringify(outcomes) });
    await test.info().attach('fuzz-trace', { body: trace.join('\n'), contentType: 'text/plain' });
  }
  // the default sequence exercises every ending
  if (RUNS >= 100) expect(Object.keys(outcomes)).toEqual(expect.arrayContaining(['cancelled', 'comparison', 'image', 'message']));
  await expect(page.locator('form[aria-label="Generate an image"] button[type=submit]')).toBeEnabled();
});
