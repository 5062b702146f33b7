/**
 * `make bench`: native onnxruntime timings (bench/native.py), then the built app in headless Chromium
 * (bench/browser.ts) against `vite preview`, then reports/BENCH.md and reports/bench.json.
 *
 *   node .tmp-bench/run.js --bundle models/shapescenes --runs 20 [--webgpu-runs 3] [--out reports]
 */

import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { basename, dirname, join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { browserBatchScaling } from './batch.js';
import { backendText, coldStart, generateOnce, gridVsSingles, interleaved, launch, liveTyping, openReady, startPreview, summarize, webgpuRun, type Recipe } from './browser.js';
import { RECIPE_IDS, renderReport, stats, TINY_RECIPE, type BenchResults, type GridResults, type LiveResults, type NativeResults, type RecipeId, type RecipeResult } from './report.js';

const PROMPTS = ['a red circle to the left of a blue square', 'two yellow stars on a black background', 'a large green triangle above a small purple heart'];
const PORT = Number(process.env.BENCH_PORT ?? 4179);
/** the typing rate of live mode's measurement: a fast typist */
const LIVE_CPS = 8;
/** src/state/liveSlice.ts's LIVE_DEBOUNCE_MS (bench/ compiles apart from src/) */
const LIVE_DEBOUNCE_MS = 200;

interface Vocabulary {
  colors?: string[];
  shapes?: string[];
  relations?: string[];
}

const article = (word: string): string => (/^[aeiou]/.test(word) ? 'an' : 'a');

/**
 * `n` different prompts of the ShapeScenes grammar (so every live image encodes a new prompt, as typing one does),
 * or the fixed prompts with a number for a bundle without the grammar's word lists.
 */
function livePrompts(vocabulary: Vocabulary | undefined, n: number): string[] {
  const { colors = [], shapes = [], relations = [] } = vocabulary ?? {};
  if (colors.length < 3 || shapes.length < 4 || relations.length === 0) return Array.from({ length: n }, (_, i) => `${PROMPTS[i % PROMPTS.length] as string} ${i}`);
  return Array.from({ length: n }, (_, i) => {
    const [c1, s1, rel, c2, s2] = [colors[i % colors.length], shapes[i % shapes.length], relations[i % relations.length], colors[(i + 2) % colors.length], shapes[(i + 3) % shapes.length]] as string[];
    return `${article(c1 as string)} ${c1} ${s1} ${rel} ${article(c2 as string)} ${c2} ${s2}`;
  });
}

interface ManifestUnet {
  id: string;
  path: string;
  recipe: { sampler: string; timesteps: number[]; guidance_scale?: number };
}

function recipesOf(bundleDir: string): { name: string; recipes: Map<RecipeId, Recipe>; paths: Map<RecipeId, string>; latentShape: number[]; vocabulary?: Vocabulary } {
  const file = join(bundleDir, 'manifest.json');
  if (!existsSync(file)) throw new Error(`${file}: the benchmark needs a bundle with our manifest.json`);
  const m = JSON.parse(readFileSync(file, 'utf8')) as { name: string; unets: ManifestUnet[]; latent_shape: number[]; vae_decoder_tiny?: string; vocabulary?: Vocabulary };
  const recipes = new Map<RecipeId, Recipe>();
  const paths = new Map<RecipeId, string>();
  for (const u of m.unets) {
    const n = u.recipe.timesteps.length;
    const cfg = (u.recipe.guidance_scale ?? 1) > 1 ? `, CFG ${u.recipe.guidance_scale}` : '';
    const label = `${u.recipe.sampler === 'ddim' ? 'DDIM' : 'DPM-Solver++'} ${n} step${n === 1 ? '' : 's'}${cfg}`;
    const id = RECIPE_IDS.find((x) => x === u.id);
    if (id) recipes.set(id, { id, label, model: id === 'teacher' ? 'teacher' : 'flash', steps: n });
    if (id) paths.set(id, u.path);
  }
  const flash1 = recipes.get('flash-1');
  if (flash1 && m.vae_decoder_tiny) recipes.set(TINY_RECIPE, { ...flash1, id: TINY_RECIPE, label: `${flash1.label}, tiny decoder`, decoder: 'tiny' });
  return { name: m.name, recipes, paths, latentShape: m.latent_shape, vocabulary: m.vocabulary };
}

function version(cmd: string, args: string[]): string {
  try {
    return execFileSync(cmd, args, { encoding: 'utf8' }).trim();
  } catch {
    return 'unknown';
  }
}

function packageVersion(name: string): string {
  return (JSON.parse(readFileSync(join('node_modules', name, 'package.json'), 'utf8')) as { version: string }).version;
}

function runNative(python: string, bundleDir: string, runs: number): NativeResults | null {
  if (!existsSync(python)) return null;
  const out = execFileSync(python, ['bench/native.py', '--bundle', bundleDir, '--runs', String(runs), '--threads', '2'], { encoding: 'utf8', maxBuffer: 1 << 24 });
  return JSON.parse(out) as NativeResults;
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      bundle: { type: 'string', default: 'models/shapescenes' },
      runs: { type: 'string', default: '20' },
      'webgpu-runs': { type: 'string', default: '3' },
      out: { type: 'string', default: 'reports' },
      python: { type: 'string', default: '.venv/bin/python' },
      command: { type: 'string', default: 'make bench' },
      /** the built app to serve (another build, e.g. of the previous commit, for before/after figures) */
      dist: { type: 'string', default: 'dist' },
    },
  });
  const runs = Number(values.runs);
  const webgpuRuns = Number(values['webgpu-runs']);
  if (!Number.isInteger(runs) || runs < 1) throw new Error(`RUNS must be a whole number ≥ 1, not "${values.runs}"`);
  if (!Number.isInteger(webgpuRuns) || webgpuRuns < 0) throw new Error(`--webgpu-runs must be a whole number ≥ 0`);
  const bundleDir = resolve(values.bundle);
  const bundleId = basename(bundleDir);
  const { name, recipes, paths, latentShape, vocabulary } = recipesOf(bundleDir);
  const present = RECIPE_IDS.flatMap((id) => recipes.get(id) ?? []);
  const log = (s: string): void => console.log(`[bench] ${s}`);
  const loadAvgStart = os.loadavg();

  log(`native onnxruntime on ${values.bundle}`);
  const native = runNative(values.python, bundleDir, runs);

  const server = await startPreview(dirname(bundleDir), resolve(values.dist), PORT);
  const base = `http://127.0.0.1:${PORT}`;
  const first = recipes.get('flash-1') ?? present[0] ?? null;
  // A model the bundle has, so builds from before the form picked one by itself can be measured too.
  const query = `bundle=${encodeURIComponent(bundleId)}${first ? `&model=${first.model}${first.model === 'flash' ? `&steps=${first.steps}` : ''}` : ''}`;
  // live mode is measured on its own page; elsewhere it would start a run at every prompt the driver fills in
  const still = `${query}&live=0`;
  const notes: string[] = [];
  let results: BenchResults;
  try {
    const browser = await launch(false);
    try {
      let cold = { empty: Number.NaN, warm: Number.NaN };
      if (first) {
        log(`cold start with ${first.id}`);
        cold = await coldStart(browser, `${base}/?${still}&backend=wasm&prompt=${encodeURIComponent(PROMPTS[0] as string)}&seed=1`);
      }
      const page = await browser.newPage();
      await openReady(page, `${base}/?${still}&backend=wasm`);
      const backend = await backendText(page);
      // Warm-up: the first run of each recipe creates its UNet session.
      for (const r of present) for (let i = 0; i < 2; i++) await generateOnce(page, r, 900 + i, PROMPTS[0] as string);
      log(`warm runs: ${runs} rounds of ${present.map((r) => r.id).join(', ')}`);
      const samples = await interleaved(page, present, runs, PROMPTS, 1000, log);
      const recipeResults: RecipeResult[] = RECIPE_IDS.map((id) => {
        const r = recipes.get(id);
        return r ? summarize(r, samples.get(id) ?? []) : { id, status: 'not in bundle' as const };
      });

      const flash1 = recipes.get('flash-1');
      let throughput: BenchResults['throughput'] = { recipe: null, batch1ImagesPerSecond: null, images: 0, note: 'flash-1 is not in this bundle.' };
      if (flash1) {
        const n = Math.max(runs, 10);
        log(`throughput: ${n} back-to-back flash-1 images`);
        const t0 = performance.now();
        for (let i = 0; i < n; i++) await generateOnce(page, flash1, 5000 + i, PROMPTS[0] as string);
        throughput = {
          recipe: 'flash-1',
          batch1ImagesPerSecond: n / ((performance.now() - t0) / 1000),
          images: n,
          note: 'The app generates one image per request (no batch input), so this is sequential throughput, including the benchmark driving the UI between images; the batch scaling below (browser and native) shows what batching could gain.',
        };
      }
      let grid: GridResults | null = null;
      if (flash1) {
        const rounds = Math.max(Math.min(runs, 10), 3);
        log(`seed grid: ${rounds} rounds of the grid against four singles (flash-1)`);
        const g = await gridVsSingles(page, flash1, rounds, PROMPTS[0] as string, 7000, log);
        const [gridMs, singlesMs] = [stats(g.grid), stats(g.singles)];
        const [gridIps, singlesIps] = [4000 / gridMs.median, 4000 / singlesMs.median];
        grid = { recipe: 'flash-1', rounds, batched: g.batched, gridMs, singlesMs, gridImagesPerSecond: gridIps, singlesImagesPerSecond: singlesIps, ratio: gridIps / singlesIps };
      }
      await page.close();

      let live: LiveResults | null = null;
      if (flash1) {
        log(`live mode: ${runs} prompts typed at ${LIVE_CPS} characters/s`);
        const livePage = await browser.newPage();
        await openReady(livePage, `${base}/?${query}&live=1&backend=wasm`);
        // the first live image of a page is a warm-up, as the other measurements have theirs
        const samples = (await liveTyping(livePage, livePrompts(vocabulary, runs + 1), LIVE_CPS, log)).slice(1);
        await livePage.close();
        live = {
          charsPerSecond: LIVE_CPS,
          debounceMs: LIVE_DEBOUNCE_MS,
          prompts: samples.length,
          decoder: [...new Set(samples.map((x) => x.paint.profile.decoder ?? 'full'))].join(', '),
          keystrokeToImage: stats(samples.map((x) => x.keystrokeToImage)),
          pauseToImage: stats(samples.map((x) => x.keystrokeToImage - LIVE_DEBOUNCE_MS)),
          sessionRun: stats(samples.map((x) => x.paint.profile.sessionRunMs)),
          workerTotal: stats(samples.map((x) => x.paint.profile.totalMs)),
          earlyImages: samples.reduce((a, x) => a + x.early, 0),
          embeddingCacheHits: samples.filter((x) => x.paint.profile.embeddingCacheHit === true).length,
        };
      }
      const threads = /WASM \((\d+) thread/.exec(backend)?.[1];
      const flash1Path = paths.get('flash-1');
      if (flash1Path) {
        log('batch scaling of the flash-1 graphs in the browser');
        throughput.browserBatch = await browserBatchScaling(browser, bundleDir, flash1Path, latentShape, threads ? Number(threads) : 1, Math.min(Math.max(runs, 5), 20));
      }

      log('WebGPU');
      const webgpu = webgpuRuns > 0 ? await webgpuRun(base, still, present, webgpuRuns, PROMPTS[0] as string, log) : null;
      if (webgpu?.adapter.fallback) notes.push('The only WebGPU adapter here is SwiftShader (software): its figures are recorded, nothing is decided from them.');
      notes.push(
        'End to end = in-page clock from the Generate click to the canvas painted with the result (the page reads `performance.now()` on both sides; the driver’s own waiting is not included).',
        `Live mode: the clock starts at the last keystroke’s input event and stops when the canvas is painted with that prompt’s live image; “end of the pause” takes the app’s ${LIVE_DEBOUNCE_MS} ms debounce off it. Every other measurement runs on a page opened with ?live=0.`,
        'Measured on a shared 2-core machine: when other jobs run (see the load average above), every figure is noisy; compare ratios taken in the same run rather than absolute numbers across runs.',
      );
      results = {
        date: new Date().toISOString(),
        command: values.command,
        bundle: { path: values.bundle, name },
        runs,
        machine: {
          cpu: os.cpus()[0]?.model ?? 'unknown',
          cores: os.cpus().length,
          memoryGiB: os.totalmem() / 2 ** 30,
          os: `${os.type()} ${os.release()}`,
          loadAvgStart,
          loadAvgEnd: os.loadavg(),
        },
        versions: {
          chromium: browser.version(),
          node: process.version,
          'onnxruntime-web': packageVersion('onnxruntime-web'),
          playwright: packageVersion('@playwright/test'),
          ...(native ? { 'onnxruntime (Python)': native.onnxruntime, python: native.python } : {}),
          git: version('git', ['rev-parse', '--short', 'HEAD']) + (version('git', ['status', '--porcelain', '--untracked-files=no']) ? ' (modified)' : ''),
        },
        browser: { backend, threads: threads ? Number(threads) : null, prompts: PROMPTS },
        recipes: recipeResults,
        coldStart: {
          recipe: first?.id ?? null,
          emptyCacheMs: cold.empty,
          warmCacheMs: cold.warm,
          note: 'A shared link that generates on load; "warm cache" reloads the same page, whose verified model files come from Cache Storage.',
        },
        throughput,
        native,
        webgpu,
        live,
        grid,
        notes,
      };
    } finally {
      await browser.close();
    }
  } finally {
    server.kill();
  }
  mkdirSync(values.out, { recursive: true });
  writeFileSync(join(values.out, 'bench.json'), `${JSON.stringify(results, null, 2)}\n`);
  writeFileSync(join(values.out, 'BENCH.md'), renderReport(results));
  log(`wrote ${join(values.out, 'BENCH.md')} and ${join(values.out, 'bench.json')}`);
}

main().catch((err: unknown) => {
  console.error(err instanceof Error ? (err.stack ?? err.message) : String(err));
  process.exit(1);
});
