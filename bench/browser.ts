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
  seed: number;
  unetId: string;
  paintedAt: number;
  paintMs: number;
  timings: { stage: string; label: string; ms: number }[];
  profile: { totalMs: number; sessionRunMs: number; textEncoderRunMs: number; unetRunMs: number[]; vaeRunMs: number; schedulerMs: number };
}
interface PerfWindow {
  imagineFlashPerf: { paints: Paint[] };
  __benchT0?: number;
}

export interface Recipe {
  id: RecipeId;
  label: string;
  model: 'flash' | 'teacher';
  steps: number;
}

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

async function select(page: Page, r: Recipe, seed: number, prompt: string): Promise<void> {
  const prompt$ = page.getByLabel('Prompt');
  if ((await prompt$.inputValue()) !== prompt) await prompt$.fill(prompt);
  await page.getByRole('radiogroup', { name: 'Model' }).getByRole('radio', { name: r.model === 'flash' ? 'Flash' : 'Teacher', exact: true }).check();
  if (r.model === 'flash') await page.getByRole('radiogroup', { name: 'Steps' }).getByRole('radio', { name: String(UI_STEPS(r)), exact: true }).check();
  await page.getByRole('textbox', { name: 'Seed' }).fill(String(seed));
}

/** One generation through the UI: the clock starts in the page right before the click and stops when the canvas is painted. */
export async function generateOnce(page: Page, r: Recipe, seed: number, prompt: string): Promise<Sample> {
  await select(page, r, seed, prompt);
  const paint = await paintAfter(page, await paintCount(page), true);
  const t0 = await page.evaluate(() => (window as unknown as PerfWindow).__benchT0 ?? Number.NaN);
  if (paint.seed !== seed || paint.unetId !== r.id) throw new Error(`expected ${r.id} seed ${seed}, got ${paint.unetId} seed ${paint.seed}`);
  return { e2e: paint.paintedAt - t0, paint };
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
