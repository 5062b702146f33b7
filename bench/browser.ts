/**
 * Drives the built app in headless Chromium (Debian's /usr/bin/chromium, the flags of playwright.config.ts)
 * through its real UI and reads each painted result's timings from `window.imagineFlashPerf`
 * (src/ui/perfLog.ts). No time limits: a benchmark reports, it does not pass or fail.
 */

import { spawn, type ChildProcess } from 'node:child_process';
import { chromium, type Browser, type Page } from '@playwright/test';
import { BREAKDOWN, stats, type BreakdownKey, type RecipeId, type RecipeResult, type Stats, type WebGpuResults } from './report.js';

export const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
export const BASE_ARGS = ['--no-sandbox', '--headless', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run', '--disable-quic'];

/** What the bench reads of src/ui/perfLog.ts's PaintRecord (structural: bench/ compiles apart from src/). */
interface Paint {
  key: string;
  /** absent in builds before live mode */
  prompt?: string;
  seed: number;
  unetId: string;
  paintedAt: number;
  paintMs: number;
  timings: { stage: string; label: string; ms: number }[];
  profile: {
    totalMs: number;
    sessionRunMs: number;
    textEncoderRunMs: number;
    unetRunMs: number[];
    vaeRunMs: number;
    schedulerMs: number;
    embeddingCacheHit?: boolean;
    decoder?: string;
  };
}
interface GridPaint {
  key: string;
  seed: number;
  paintedAt: number;
}
interface PerfWindow {
  imagineFlashPerf: { paints: Paint[]; gridPaints?: GridPaint[] };
  __benchT0?: number;
  __benchLastInput?: number;
}

export interface Recipe {
  id: RecipeId;
  label: string;
  model: 'flash' | 'teacher';
  steps: number;
  /** decoded with the bundle's tiny VAE decoder (the Decoder setting); absent: the full one */
  decoder?: 'tiny';
}

/** The UNet that makes a recipe's images. */
const unetOf = (r: Recipe): string => (r.model === 'teacher' ? 'teacher' : `flash-${r.steps}`);

export interface Sample {
  e2e: number;
  paint: Paint;
}

const UI_STEPS = (r: Recipe): 1 | 2 | 3 => (r.model === 'flash' && (r.steps === 1 || r.steps === 3) ? r.steps : 2);

export async function launch(webgpu: boolean): Promise<Browser> {
  return chromium.launch({ executablePath: CHROMIUM, args: webgpu ? [...BASE_ARGS, '--enable-unsafe-webgpu'] : BASE_ARGS });
}

async function paintCount(page: Page): Promise<number> {
  return page.evaluate(() => (window as unknown as PerfWindow).imagineFlashPerf.paints.length);
}

/** Not a time limit on the measurement: a guard so a page that stopped (an error, a lost worker) ends the run with a reason. */
const STALL_MS = 15 * 60_000;

/**
 * Resolves in the page when it has painted more than `count` results (or rejects on an error banner), after
 * clicking Generate first when `click`. Event-driven (src/ui/perfLog.ts's PAINT_EVENT and a MutationObserver):
 * polling the page every few ms took main-thread time from the 2 cores the worker's WASM threads run on.
 */
async function paintAfter(page: Page, count: number, click: boolean): Promise<Paint> {
  await page.evaluate(
    ([n, clickFirst, stallMs]) =>
      new Promise<void>((resolve, reject) => {
        const w = window as unknown as PerfWindow;
        const settled = (): boolean => {
          if ((w.imagineFlashPerf?.paints.length ?? 0) > n) return (resolve(), true);
          const alert = document.querySelector('[role=alert]');
          if (alert) return (reject(new Error(`the page shows an error instead of an image: ${alert.textContent ?? ''}`)), true);
          return false;
        };
        const observer = new MutationObserver(() => check());
        const timer = setTimeout(() => {
          stop();
          reject(new Error(`no image after ${stallMs} ms`));
        }, stallMs);
        const stop = (): void => {
          window.removeEventListener('imagineflash-paint', check);
          observer.disconnect();
          clearTimeout(timer);
        };
        function check(): void {
          if (settled()) stop();
        }
        if (clickFirst) {
          const button = [...document.querySelectorAll('button')].find((b) => b.textContent === 'Generate');
          if (!button) throw new Error('no Generate button');
          w.__benchT0 = performance.now();
          button.click();
        }
        if (settled()) return stop();
        window.addEventListener('imagineflash-paint', check);
        observer.observe(document.body, { childList: true, subtree: true });
      }),
    [count, click, STALL_MS] as const,
  );
  const p = await page.evaluate(() => (window as unknown as PerfWindow).imagineFlashPerf.paints.at(-1));
  if (!p) throw new Error('the page recorded no paint');
  return p;
}

/**
 * Sets the app's Decoder setting; false when the page offers none (a bundle without a tiny decoder, or a build
 * from before the setting), where every image is the full decoder's.
 */
async function setDecoder(page: Page, decoder: 'full' | 'tiny'): Promise<boolean> {
  // counted in the DOM: the setting sits in the folded "Model and settings" card, which a role query does not see
  if ((await page.locator('[role=radiogroup][aria-label=Decoder]').count()) === 0) return false;
  const card = page.locator('details.settings-card');
  if (!(await card.evaluate((d) => (d as HTMLDetailsElement).open))) await card.locator('summary').click();
  await page.getByRole('radiogroup', { name: 'Decoder' }).getByRole('radio', { name: decoder === 'tiny' ? 'Tiny (fast preview)' : 'Full', exact: true }).check();
  return true;
}

/** What generateOnce does with a tiny-decoder recipe on a page without the setting: fail, or run it with the full decoder (an A/B against an older build). */
export type TinyFallback = 'fail' | 'full';

async function select(page: Page, r: Recipe, seed: number, prompt: string, fallback: TinyFallback): Promise<void> {
  const prompt$ = page.getByLabel('Prompt', { exact: true });
  if ((await prompt$.inputValue()) !== prompt) await prompt$.fill(prompt);
  await page.getByRole('radiogroup', { name: 'Model' }).getByRole('radio', { name: r.model === 'flash' ? 'Flash' : 'Teacher', exact: true }).check();
  if (r.model === 'flash') await page.getByRole('radiogroup', { name: 'Steps' }).getByRole('radio', { name: String(UI_STEPS(r)), exact: true }).check();
  const offered = await setDecoder(page, r.decoder ?? 'full');
  if (!offered && r.decoder === 'tiny' && fallback === 'fail') throw new Error(`${r.id}: the page offers no Decoder setting (no tiny VAE decoder in this bundle or build)`);
  await page.getByRole('textbox', { name: 'Seed' }).fill(String(seed));
}

/** One generation through the UI: the clock starts in the page right before the click and stops when the canvas is painted. */
export async function generateOnce(page: Page, r: Recipe, seed: number, prompt: string, fallback: TinyFallback = 'fail'): Promise<Sample> {
  await select(page, r, seed, prompt, fallback);
  const paint = await paintAfter(page, await paintCount(page), true);
  const t0 = await page.evaluate(() => (window as unknown as PerfWindow).__benchT0 ?? Number.NaN);
  if (paint.seed !== seed || paint.unetId !== unetOf(r)) throw new Error(`expected ${unetOf(r)} seed ${seed}, got ${paint.unetId} seed ${paint.seed}`);
  const decoder = paint.profile.decoder ?? 'full';
  if (r.decoder === 'tiny' && fallback === 'fail' && decoder !== 'tiny') throw new Error(`${r.id}: decoded with the ${decoder} decoder`);
  return { e2e: paint.paintedAt - t0, paint };
}

/** One figure of a live-mode run (bench/run.ts's LiveResults). */
export interface LiveSample {
  /** last keystroke's input event → the final text's live image painted */
  keystrokeToImage: number;
  paint: Paint;
  /** live images painted while the prompt was being typed */
  early: number;
}

/**
 * Live mode (a page opened with ?live=1): each prompt is typed into the emptied prompt box with real key events,
 * `cps` characters a second, and the live image of the whole text is awaited. The clock runs in the page from the
 * last keystroke's input event to the canvas painted with that prompt's image.
 */
export async function liveTyping(page: Page, prompts: readonly string[], cps: number, log: (s: string) => void): Promise<LiveSample[]> {
  const box = page.getByLabel('Prompt', { exact: true });
  await box.evaluate((el) => el.addEventListener('input', () => ((window as unknown as PerfWindow).__benchLastInput = performance.now())));
  const out: LiveSample[] = [];
  for (const [i, prompt] of prompts.entries()) {
    await box.fill('');
    // the emptied box's own pause (it draws nothing: there is no prompt) is over before typing starts
    await page.waitForTimeout(400);
    const before = await paintCount(page);
    await box.focus();
    await page.keyboard.type(prompt, { delay: 1000 / cps });
    await page.waitForFunction(
      ([n, text]) => (window as unknown as PerfWindow).imagineFlashPerf.paints.slice(n).some((p) => p.prompt === text) || document.querySelector('[role=alert]') !== null,
      [before, prompt] as const,
      { timeout: STALL_MS, polling: 50 },
    );
    const { paints, last } = await page.evaluate((n) => {
      const w = window as unknown as PerfWindow;
      return { paints: w.imagineFlashPerf.paints.slice(n), last: w.__benchLastInput ?? Number.NaN };
    }, before);
    const final = paints.find((p) => p.prompt === prompt);
    if (!final) throw new Error(`no live image of “${prompt}”: ${await page.getByRole('alert').first().textContent()}`);
    out.push({ keystrokeToImage: final.paintedAt - last, paint: final, early: paints.filter((p) => p.paintedAt <= last).length });
    log(`live ${i + 1}/${prompts.length}: “${prompt}” ${out.at(-1)?.keystrokeToImage.toFixed(1)} ms after the last keystroke`);
  }
  return out;
}

/** Seed grid click → its fourth tile painted (in-page clock), and whether it ran as one batch. */
async function gridOnce(page: Page, r: Recipe, seed: number, prompt: string): Promise<{ ms: number; batched: boolean }> {
  await select(page, r, seed, prompt, 'fail');
  const ms = await page.evaluate(
    ([stallMs, first]) =>
      new Promise<number>((resolve, reject) => {
        const w = window as unknown as PerfWindow;
        const log = w.imagineFlashPerf.gridPaints;
        if (!log) return reject(new Error('this build records no seed-grid paints'));
        const n = log.length;
        const timer = setTimeout(() => reject(new Error(`no seed grid after ${stallMs} ms`)), stallMs);
        const check = (): void => {
          const tiles = log.slice(n).filter((p) => p.seed >= first && p.seed < first + 4);
          const alert = document.querySelector('[data-testid=grid-error] [role=alert], [role=alert]');
          if (alert) reject(new Error(`the seed grid failed: ${alert.textContent ?? ''}`));
          else if (new Set(tiles.map((p) => p.seed)).size < 4) return;
          else resolve(Math.max(...tiles.map((p) => p.paintedAt)) - t0);
          clearTimeout(timer);
          window.removeEventListener('imagineflash-paint', check);
        };
        window.addEventListener('imagineflash-paint', check);
        const button = [...document.querySelectorAll('button')].find((b) => b.textContent === 'Seed grid');
        if (!button) return reject(new Error('no Seed grid button'));
        const t0 = performance.now();
        button.click();
      }),
    [STALL_MS, seed] as const,
  );
  const batched = (await page.getByTestId('grid-status').textContent())?.includes('one batched run') ?? false;
  await page.getByRole('button', { name: 'Back to single image' }).click();
  return { ms, batched };
}

/**
 * The seed grid against four single generations of the same prompt and seeds, `rounds` times on one page (which
 * of the two goes first alternates); each after one warm-up of both.
 */
export async function gridVsSingles(page: Page, r: Recipe, rounds: number, prompt: string, seed0: number, log: (s: string) => void): Promise<{ grid: number[]; singles: number[]; batched: boolean }> {
  const singlesOnce = async (seed: number): Promise<number> => {
    let sum = 0;
    for (let k = 0; k < 4; k++) sum += (await generateOnce(page, r, seed + k, prompt)).e2e;
    return sum;
  };
  await gridOnce(page, r, seed0 - 100, prompt);
  await singlesOnce(seed0 - 100);
  const grid: number[] = [];
  const singles: number[] = [];
  let batched = true;
  for (let i = 0; i < rounds; i++) {
    const seed = seed0 + 10 * i;
    const runGrid = async (): Promise<void> => {
      const g = await gridOnce(page, r, seed, prompt);
      grid.push(g.ms);
      batched &&= g.batched;
    };
    const runSingles = async (): Promise<void> => void singles.push(await singlesOnce(seed));
    if (i % 2 === 0) {
      await runGrid();
      await runSingles();
    } else {
      await runSingles();
      await runGrid();
    }
    log(`seed grid round ${i + 1}/${rounds}: grid ${grid.at(-1)?.toFixed(1)} ms, four singles ${singles.at(-1)?.toFixed(1)} ms`);
  }
  return { grid, singles, batched };
}

/** Opens the app and waits until Generate is enabled; a bundle that fails to load ends the run with its message. */
export async function openReady(page: Page, url: string): Promise<void> {
  await page.goto(url);
  await page.waitForFunction(
    () => [...document.querySelectorAll('button')].some((b) => b.textContent === 'Generate' && !b.disabled) || document.querySelector('[data-testid=model].error') !== null,
    undefined,
    { timeout: STALL_MS },
  );
  if (!(await page.getByRole('button', { name: 'Generate' }).isEnabled())) throw new Error(`the app did not get ready: ${await page.getByTestId('model').innerText()}`);
}

const stageMs = (p: Paint, stage: string): number => p.timings.filter((t) => t.stage === stage).reduce((a, t) => a + t.ms, 0);

/** Per-run figures of the breakdown; per-step figures are averaged over the run's steps. */
function breakdownOf(s: Sample): Record<BreakdownKey, number> {
  const p = s.paint;
  const steps = p.profile.unetRunMs.length;
  const unetAll = stageMs(p, 'unet');
  const unetRun = p.profile.unetRunMs.reduce((a, b) => a + b, 0);
  return {
    tokenize: stageMs(p, 'tokenize'),
    encode: stageMs(p, 'encode'),
    textEncoderRun: p.profile.textEncoderRunMs,
    unetStep: unetAll / steps,
    unetStepRun: unetRun / steps,
    unetAll,
    scheduler: p.profile.schedulerMs,
    decode: stageMs(p, 'decode'),
    vaeRun: p.profile.vaeRunMs,
    workerTotal: p.profile.totalMs,
    handoff: s.e2e - p.profile.totalMs - p.paintMs,
    canvas: p.paintMs,
    e2e: s.e2e,
    sessionRun: p.profile.sessionRunMs,
  };
}

export function summarize(r: Recipe, samples: Sample[]): RecipeResult {
  const rows = samples.map(breakdownOf);
  const breakdown = Object.fromEntries(BREAKDOWN.map(([k]) => [k, stats(rows.map((x) => x[k]))])) as Record<BreakdownKey, Stats>;
  return {
    id: r.id,
    status: 'measured',
    label: r.label,
    steps: r.steps,
    e2eRuns: samples.map((s) => s.e2e),
    breakdown,
    overheadPct: stats(rows.map((x) => (100 * (x.e2e - x.sessionRun)) / x.e2e)),
    workerOverheadPct: stats(rows.map((x) => (100 * (x.workerTotal - x.sessionRun)) / x.workerTotal)),
  };
}

/** `rounds` rounds of every recipe once, the order rotated each round so none always runs first. */
export async function interleaved(page: Page, recipes: Recipe[], rounds: number, prompts: string[], seed0: number, log: (s: string) => void): Promise<Map<RecipeId, Sample[]>> {
  const out = new Map<RecipeId, Sample[]>(recipes.map((r) => [r.id, []]));
  for (let i = 0; i < rounds; i++) {
    const prompt = prompts[i % prompts.length] as string;
    for (let k = 0; k < recipes.length; k++) {
      const r = recipes[(i + k) % recipes.length] as Recipe;
      const s = await generateOnce(page, r, seed0 + i, prompt);
      out.get(r.id)?.push(s);
    }
    log(`round ${i + 1}/${rounds}: ${recipes.map((r) => `${r.id} ${out.get(r.id)?.at(-1)?.e2e.toFixed(1)} ms`).join(', ')}`);
  }
  return out;
}

/** Navigation → first painted image of a shared link (autogenerates), in a fresh context and then on reload. */
export async function coldStart(browser: Browser, link: string): Promise<{ empty: number; warm: number }> {
  const ctx = await browser.newContext();
  try {
    const page = await ctx.newPage();
    await page.goto(link);
    const empty = (await paintAfter(page, 0, false)).paintedAt;
    await page.reload();
    const warm = (await paintAfter(page, 0, false)).paintedAt;
    return { empty, warm };
  } finally {
    await ctx.close();
  }
}

export async function backendText(page: Page): Promise<string> {
  return (await page.getByTestId('backend').textContent())?.replace(/^Backend:\s*/, '') ?? '';
}

export async function webgpuRun(base: string, query: string, recipes: Recipe[], runs: number, prompt: string, log: (s: string) => void): Promise<WebGpuResults> {
  const browser = await launch(true);
  try {
    const page = await browser.newPage();
    await page.goto(`${base}/`);
    const adapter = await page.evaluate(async () => {
      type Info = { vendor?: string; architecture?: string; description?: string; isFallbackAdapter?: boolean };
      const gpu = (navigator as Navigator & { gpu?: { requestAdapter(): Promise<{ info?: Info } | null> } }).gpu;
      const a = gpu ? await gpu.requestAdapter() : null;
      const i = a?.info;
      return { available: !!a, fallback: i?.isFallbackAdapter ?? null, description: [i?.vendor, i?.architecture, i?.description].filter(Boolean).join(' ') || 'unknown' };
    });
    if (!adapter.available) return { adapter, backend: 'none', runs: 0, recipes: [] };
    await openReady(page, `${base}/?${query}&backend=webgpu`);
    const atLoad = await backendText(page);
    const results: WebGpuResults['recipes'] = [];
    // A software adapter is minutes per teacher image and decides nothing: one run each, no warm-up.
    const software = adapter.fallback === true;
    const n = software ? Math.min(runs, 1) : runs;
    for (const r of recipes) {
      try {
        if (!software) await generateOnce(page, r, 1, prompt);
        const samples: Sample[] = [];
        for (let i = 0; i < n; i++) samples.push(await generateOnce(page, r, 2 + i, prompt));
        const note = software ? 'one run, no warm-up (software adapter)' : undefined;
        results.push({ id: r.id, status: 'measured', e2e: stats(samples.map((s) => s.e2e)), sessionRun: stats(samples.map((s) => s.paint.profile.sessionRunMs)), ...(note ? { note } : {}) });
        log(`webgpu ${r.id}: ${results.at(-1)?.e2e?.median.toFixed(1)} ms`);
      } catch (err) {
        results.push({ id: r.id, status: 'failed', note: err instanceof Error ? err.message.split('\n')[0] : String(err) });
      }
    }
    const atEnd = await backendText(page);
    return { adapter, backend: atEnd === atLoad ? atEnd : `${atLoad}, then ${atEnd}`, runs: n, recipes: results };
  } finally {
    await browser.close();
  }
}

/** `vite preview` of a build on 127.0.0.1:port, with the bundles of modelsDir at /models/. */
export async function startPreview(modelsDir: string, dist: string, port: number): Promise<ChildProcess> {
  const child = spawn('node_modules/.bin/vite', ['preview', '--host', '127.0.0.1', '--port', String(port), '--strictPort', '--outDir', dist], {
    env: { ...process.env, MODELS_DIR: modelsDir },
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  for (let i = 0; i < 600; i++) {
    if (child.exitCode !== null) throw new Error(`vite preview exited with ${child.exitCode} (is port ${port} taken? set BENCH_port)`);
    try {
      if ((await fetch(`http://127.0.0.1:${port}/`)).ok) return child;
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  child.kill();
  throw new Error('vite preview did not start within 60 s');
}
