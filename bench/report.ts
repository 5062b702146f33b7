/**
 * The benchmark's results object and its Markdown rendering (reports/BENCH.md). Pure: no I/O, so vitest
 * checks it on a synthetic results object (tests/web/benchReport.test.ts).
 */

export interface Stats {
  n: number;
  median: number;
  p10: number;
  p90: number;
  min: number;
  max: number;
}

/** Nearest-rank-with-interpolation percentile (numpy's default "linear"). */
export function percentile(sorted: readonly number[], q: number): number {
  if (sorted.length === 0) return Number.NaN;
  const pos = (sorted.length - 1) * q;
  const lo = Math.floor(pos);
  const hi = Math.ceil(pos);
  const a = sorted[lo] as number;
  const b = sorted[hi] as number;
  return a + (b - a) * (pos - lo);
}

export function stats(xs: readonly number[]): Stats {
  const s = [...xs].sort((a, b) => a - b);
  return { n: s.length, median: percentile(s, 0.5), p10: percentile(s, 0.1), p90: percentile(s, 0.9), min: s[0] ?? Number.NaN, max: s.at(-1) ?? Number.NaN };
}

/** flash-1-tiny: flash-1 decoded by the bundle's tiny VAE decoder (the app's Decoder setting "Tiny") */
export const RECIPE_IDS = ['flash-1', 'flash-1-tiny', 'flash-2', 'flash-3', 'teacher'] as const;
export type RecipeId = (typeof RECIPE_IDS)[number];
export const TINY_RECIPE = 'flash-1-tiny' satisfies RecipeId;

/** The stages of the breakdown, in pipeline order; every value is ms per image unless named per step. */
export const BREAKDOWN = [
  ['tokenize', 'tokenize'],
  ['encode', 'text encoder (stage)'],
  ['textEncoderRun', '  of which session.run'],
  ['unetStep', 'UNet, per step (stage)'],
  ['unetStepRun', '  of which session.run'],
  ['unetAll', 'UNet, all steps'],
  ['scheduler', 'scheduler (all steps)'],
  ['decode', 'VAE decode (stage, incl. to RGBA)'],
  ['vaeRun', '  of which session.run'],
  ['workerTotal', 'worker total (tokenize → RGBA)'],
  ['handoff', 'worker → page → React commit'],
  ['canvas', 'canvas paint'],
  ['e2e', 'end to end (click → canvas)'],
  ['sessionRun', 'Σ session.run'],
] as const;
export type BreakdownKey = (typeof BREAKDOWN)[number][0];

export type RecipeResult =
  | { id: RecipeId; status: 'not in bundle' }
  | {
      id: RecipeId;
      status: 'measured';
      label: string;
      steps: number;
      /** raw end-to-end ms per run, in run order */
      e2eRuns: number[];
      breakdown: Record<BreakdownKey, Stats>;
      /** (end to end − Σ session.run) / end to end, per run */
      overheadPct: Stats;
      /** the same, inside the worker: (worker total − Σ session.run) / worker total */
      workerOverheadPct: Stats;
    };

export interface NativeTiming {
  /** which file and how it is called: e.g. "unet/model.onnx" */
  file: string;
  /** what the app uses this call for */
  use: string;
  batch: number;
  ms: Stats;
}

export interface NativeResults {
  onnxruntime: string;
  numpy: string;
  python: string;
  threads: number;
  runs: number;
  timings: NativeTiming[];
  /** images/s of text encoder + one UNet call + VAE at each batch size (what batching in the app could gain) */
  batchScaling: { file: string; batch: number; imagesPerSecond: number }[];
}

export interface WebGpuResults {
  adapter: { available: boolean; fallback: boolean | null; description: string };
  /** what the page reports it ran on (a WebGPU failure falls back to WASM) */
  backend: string;
  runs: number;
  recipes: { id: RecipeId; status: 'measured' | 'not in bundle' | 'failed'; e2e?: Stats; sessionRun?: Stats; note?: string }[];
}

/** Live mode (?live=1): a prompt typed into an empty box at a steady rate, then the live image of the whole text. */
export interface LiveResults {
  charsPerSecond: number;
  /** the app's pause after a keystroke before a live run starts (LIVE_DEBOUNCE_MS) */
  debounceMs: number;
  prompts: number;
  /** the decoder the live images were made with */
  decoder: string;
  /** last keystroke (its input event) → the live image of the final text painted; includes the debounce */
  keystrokeToImage: Stats;
  /** the same from the end of the pause, when the live run starts: keystroke → image − debounceMs */
  pauseToImage: Stats;
  /** the live runs' own end-to-end breakdown: Σ session.run, worker total */
  sessionRun: Stats;
  workerTotal: Stats;
  /** live images painted while typing, before the final one */
  earlyImages: number;
  /** final images whose prompt embedding came from the cache (a new prompt each time: expected 0) */
  embeddingCacheHits: number;
}

/** The seed grid's four seeds against four single generations of the same prompt and seeds, per round. */
export interface GridResults {
  recipe: RecipeId;
  rounds: number;
  /** the grid ran as one batched call (false: one run per seed) */
  batched: boolean;
  /** Seed grid click → the fourth tile painted */
  gridMs: Stats;
  /** Σ of four Generate clicks' click → canvas (the driver's time between them left out) */
  singlesMs: Stats;
  gridImagesPerSecond: number;
  singlesImagesPerSecond: number;
  /** grid images/s ÷ singles images/s, from the medians */
  ratio: number;
}

export interface BenchResults {
  date: string;
  command: string;
  bundle: { path: string; name: string };
  runs: number;
  machine: { cpu: string; cores: number; memoryGiB: number; os: string; loadAvgStart: number[]; loadAvgEnd: number[] };
  versions: Record<string, string>;
  browser: { backend: string; threads: number | null; prompts: string[] };
  recipes: RecipeResult[];
  coldStart: { recipe: RecipeId | null; emptyCacheMs: number | null; warmCacheMs: number | null; note: string };
  throughput: {
    recipe: RecipeId | null;
    batch1ImagesPerSecond: number | null;
    images: number;
    note: string;
    /** flash-1's graphs (text encoder + 1 UNet call + VAE) at batch 1/2/4/8 in the browser, WASM (bench/batch.ts) */
    browserBatch?: { batch: number; msPerBatch: number; imagesPerSecond: number }[];
  };
  native: NativeResults | null;
  webgpu: WebGpuResults | null;
  /** absent in reports of versions before live mode and the seed grid */
  live?: LiveResults | null;
  grid?: GridResults | null;
  notes: string[];
}

const f = (ms: number | null | undefined, digits = 1): string => (ms === null || ms === undefined || Number.isNaN(ms) ? '–' : ms.toFixed(digits));
const ratio = (x: number): string => (Number.isFinite(x) ? `${x.toFixed(2)}×` : '–');
const goal = (ok: boolean | null): string => (ok === null ? 'n/a' : ok ? 'met' : 'not met');

function measured(r: BenchResults | RecipeResult[]): Extract<RecipeResult, { status: 'measured' }>[] {
  return (Array.isArray(r) ? r : r.recipes).filter((x): x is Extract<RecipeResult, { status: 'measured' }> => x.status === 'measured');
}

/** Teacher median / recipe median, end to end; null when either is missing. */
export function speedups(r: BenchResults): Partial<Record<RecipeId, number>> {
  const teacher = measured(r).find((x) => x.id === 'teacher');
  const out: Partial<Record<RecipeId, number>> = {};
  if (!teacher) return out;
  for (const x of measured(r)) out[x.id] = teacher.breakdown.e2e.median / x.breakdown.e2e.median;
  return out;
}

/** Browser session.run per UNet step / native, matched by the UNet file's use and batch. */
export function wasmNativeRatios(r: BenchResults): { id: RecipeId; browserMs: number; nativeMs: number; ratio: number }[] {
  if (!r.native) return [];
  const out: { id: RecipeId; browserMs: number; nativeMs: number; ratio: number }[] = [];
  for (const x of measured(r)) {
    const n = r.native.timings.find((t) => t.use === `${x.id} step`);
    if (n) out.push({ id: x.id, browserMs: x.breakdown.unetStepRun.median, nativeMs: n.ms.median, ratio: x.breakdown.unetStepRun.median / n.ms.median });
  }
  return out;
}

function latencySection(r: BenchResults): string[] {
  const sp = speedups(r);
  const lines = [
    '## Warm end-to-end latency (click → canvas painted), WASM',
    '',
    `Interleaved on one page: each round runs every recipe once (order rotated per round) on the same prompt and seed; ${r.runs} rounds after a warm-up.`,
    '',
    '| recipe | runs | median ms | p10 ms | p90 ms | teacher / recipe |',
    '|---|---:|---:|---:|---:|---:|',
  ];
  for (const x of r.recipes) {
    if (x.status === 'not in bundle') lines.push(`| ${x.id} | – | not in bundle | | | |`);
    else {
      const e = x.breakdown.e2e;
      lines.push(`| ${x.id} (${x.label}) | ${e.n} | ${f(e.median)} | ${f(e.p10)} | ${f(e.p90)} | ${ratio(sp[x.id] ?? Number.NaN)} |`);
    }
  }
  const f3 = sp['flash-3'];
  lines.push('', `Goal: flash-3 ≥ 13× faster than the teacher end to end — ${f3 === undefined ? 'n/a (flash-3 or teacher not in bundle)' : `${ratio(f3)}: ${goal(f3 >= 13)}`}.`, '');
  return lines;
}

function recipeOf(r: BenchResults, id: RecipeId): Extract<RecipeResult, { status: 'measured' }> | undefined {
  return measured(r).find((x) => x.id === id);
}

function tinyDecoderSection(r: BenchResults): string[] {
  const full = recipeOf(r, 'flash-1');
  const tiny = recipeOf(r, TINY_RECIPE);
  const lines = ['## Tiny VAE decoder', ''];
  if (!full || !tiny) return [...lines, 'Not measured: the bundle has no tiny VAE decoder (vae_decoder_tiny) or no flash-1.', ''];
  const m = (x: typeof full, k: BreakdownKey): number => x.breakdown[k].median;
  const nativeMs = (use: string): number | undefined => r.native?.timings.find((t) => t.use === use)?.ms.median;
  lines.push(
    '| flash-1, medians | full decoder | tiny decoder | tiny / full |',
    '|---|---:|---:|---:|',
    ...([
      ['decode stage (incl. to RGBA), ms', 'decode'],
      ['  of which session.run, ms', 'vaeRun'],
      ['end to end, ms', 'e2e'],
    ] as const).map(([label, k]) => `| ${label} | ${f(m(full, k), 2)} | ${f(m(tiny, k), 2)} | ${ratio(m(tiny, k) / m(full, k))} |`),
  );
  const [nf, nt] = [nativeMs('VAE decode'), nativeMs('tiny VAE decode')];
  if (nf !== undefined && nt !== undefined) lines.push(`| native onnxruntime session.run, ms | ${f(nf, 2)} | ${f(nt, 2)} | ${ratio(nt / nf)} |`);
  lines.push(
    '',
    'Both rows with the embedding cache warm (the rounds repeat their prompts). The goal — flash-1 end to end ≤ 0.65× the app before issue 19 with the tiny decoder and a cached embedding — compares two builds: `make bench-ab A=<that build> RECIPES=flash-1,flash-1-tiny` (bench/ab.ts, which runs flash-1-tiny as flash-1 on a build without the tiny decoder).',
    '',
  );
  return lines;
}

function liveSection(r: BenchResults): string[] {
  const l = r.live;
  if (!l) return ['## Live mode', '', 'Not measured.', ''];
  const row = (label: string, s: Stats): string => `| ${label} | ${s.n} | ${f(s.median)} | ${f(s.p90)} | ${f(s.max)} |`;
  return [
    '## Live mode (?live=1), WASM',
    '',
    `A new prompt typed into an empty box at ${l.charsPerSecond} characters/s (real key events), ${l.prompts} times after one warm-up; the live image of the whole text (decoder: ${l.decoder}) after the app's ${l.debounceMs} ms pause. Live images painted while typing, before the final one: ${l.earlyImages}. Final images with a cached embedding: ${l.embeddingCacheHits}.`,
    '',
    '| figure | n | median ms | p90 ms | max ms |',
    '|---|---:|---:|---:|---:|',
    row('last keystroke → image painted (incl. the pause)', l.keystrokeToImage),
    row('end of the pause → image painted', l.pauseToImage),
    row('  of which worker total', l.workerTotal),
    row('  of which Σ session.run', l.sessionRun),
    '',
    `Goal: keystroke-pause → image ≤ 120 ms p90 on WASM — p90 ${f(l.pauseToImage.p90)} ms: ${goal(l.pauseToImage.p90 <= 120)}.`,
    '',
  ];
}

function gridSection(r: BenchResults): string[] {
  const g = r.grid;
  if (!g) return ['## Seed grid', '', 'Not measured.', ''];
  return [
    `## Seed grid (${g.recipe}, 4 seeds)`,
    '',
    `${g.rounds} rounds on one page, the order of the two alternating: the Seed grid button (${g.batched ? 'one batched run' : 'one run per seed: the graphs take one image at a time'}) against four Generate clicks with the same prompt and seeds.`,
    '',
    '| | median ms | p10 ms | p90 ms | images/s (median) |',
    '|---|---:|---:|---:|---:|',
    `| seed grid: click → fourth tile painted | ${f(g.gridMs.median)} | ${f(g.gridMs.p10)} | ${f(g.gridMs.p90)} | ${g.gridImagesPerSecond.toFixed(1)} |`,
    `| four single generations: Σ click → canvas | ${f(g.singlesMs.median)} | ${f(g.singlesMs.p10)} | ${f(g.singlesMs.p90)} | ${g.singlesImagesPerSecond.toFixed(1)} |`,
    '',
    `Goal: the seed grid ≥ 1.2× the images/s of four single generations — ${ratio(g.ratio)}: ${goal(g.ratio >= 1.2)}.`,
    '',
  ];
}

function breakdownSection(r: BenchResults): string[] {
  const xs = measured(r);
  if (xs.length === 0) return [];
  const lines = ['## Breakdown (medians, ms)', '', `| stage | ${xs.map((x) => x.id).join(' | ')} |`, `|---|${xs.map(() => '---:').join('|')}|`];
  for (const [key, label] of BREAKDOWN) lines.push(`| ${label} | ${xs.map((x) => f(x.breakdown[key].median, 2)).join(' | ')} |`);
  lines.push(`| **pipeline overhead** (end to end − Σ session.run) / end to end | ${xs.map((x) => `${f(x.overheadPct.median)} %`).join(' | ')} |`);
  lines.push(`| worker-only overhead (worker total − Σ session.run) / worker total | ${xs.map((x) => `${f(x.workerOverheadPct.median)} %`).join(' | ')} |`);
  const worst = Math.max(...xs.map((x) => x.overheadPct.median));
  lines.push('', `Goal: overhead ≤ 5 % — worst median ${f(worst)} %: ${goal(worst <= 5)}.`, '');
  return lines;
}

function nativeSection(r: BenchResults): string[] {
  if (!r.native) return ['## Native onnxruntime (CPU)', '', 'Not measured (no Python onnxruntime).', ''];
  const n = r.native;
  const lines = [
    `## Native onnxruntime ${n.onnxruntime} on the CPU, ${n.threads} intra-op threads (same files, same shapes)`,
    '',
    '| file | used for | batch | median ms | p10 | p90 |',
    '|---|---|---:|---:|---:|---:|',
    ...n.timings.map((t) => `| ${t.file} | ${t.use} | ${t.batch} | ${f(t.ms.median, 2)} | ${f(t.ms.p10, 2)} | ${f(t.ms.p90, 2)} |`),
    '',
    '### Browser WASM / native, per UNet step (session.run)',
    '',
    '| recipe | browser ms | native ms | ratio |',
    '|---|---:|---:|---:|',
  ];
  const rs = wasmNativeRatios(r);
  for (const x of rs) lines.push(`| ${x.id} | ${f(x.browserMs, 2)} | ${f(x.nativeMs, 2)} | ${ratio(x.ratio)} |`);
  const worst = rs.length ? Math.max(...rs.map((x) => x.ratio)) : null;
  lines.push('', `Goal: ≤ 1.5× — ${worst === null ? 'n/a' : `worst ${ratio(worst)}: ${goal(worst <= 1.5)}`}.`, '');
  return lines;
}

function coldAndThroughput(r: BenchResults): string[] {
  const c = r.coldStart;
  const t = r.throughput;
  const lines = [
    '## Cold start (navigation → first image painted)',
    '',
    `Recipe: ${c.recipe ?? '–'}. Empty cache (new browser context): ${f(c.emptyCacheMs, 0)} ms. Warm cache (reload, files from Cache Storage): ${f(c.warmCacheMs, 0)} ms. ${c.note}`,
    '',
    '## Throughput',
    '',
    `${t.recipe ?? 'flash-1'} at batch 1: ${t.batch1ImagesPerSecond === null ? 'not in bundle' : `${t.batch1ImagesPerSecond.toFixed(2)} images/s`} (${t.images} back-to-back generations through the UI). ${t.note}`,
    '',
  ];
  if (t.browserBatch && t.browserBatch.length > 0) {
    const best = t.browserBatch.reduce((a, b) => (b.imagesPerSecond > a.imagesPerSecond ? b : a));
    lines.push(
      `In the browser (WASM, ${r.browser.threads ?? '?'} threads), flash-1's graphs on a bare page — text encoder + 1 UNet call + VAE per batch: ` +
        t.browserBatch.map((b) => `batch ${b.batch}: ${b.imagesPerSecond.toFixed(1)}/s (${b.msPerBatch.toFixed(1)} ms)`).join(', ') +
        `; best batch ${best.batch} (${(best.imagesPerSecond / (t.browserBatch[0]?.imagesPerSecond ?? Number.NaN)).toFixed(2)}× batch 1).`,
      '',
    );
  }
  if (r.native && r.native.batchScaling.length > 0) {
    const best = r.native.batchScaling.reduce((a, b) => (b.imagesPerSecond > a.imagesPerSecond ? b : a));
    lines.push(
      `Native batch scaling of ${r.native.batchScaling[0]?.file ?? ''} (text encoder + 1 UNet call + VAE per batch): ` +
        r.native.batchScaling.map((b) => `batch ${b.batch}: ${b.imagesPerSecond.toFixed(1)}/s`).join(', ') +
        `; best batch ${best.batch}.`,
      '',
    );
  }
  return lines;
}

function webgpuSection(r: BenchResults): string[] {
  const w = r.webgpu;
  if (!w) return ['## WebGPU', '', 'Not measured.', ''];
  const lines = ['## WebGPU', ''];
  if (!w.adapter.available) return [...lines, 'No WebGPU adapter in this browser.', ''];
  lines.push(`Adapter: ${w.adapter.description}${w.adapter.fallback ? ' — a **software fallback** adapter: figures recorded only, no decision is taken from them.' : ' (hardware).'} Page backend: ${w.backend}.`, '');
  lines.push('| recipe | runs | median ms end to end | Σ session.run ms | note |', '|---|---:|---:|---:|---|');
  for (const x of w.recipes) lines.push(`| ${x.id} | ${x.e2e?.n ?? '–'} | ${x.status === 'measured' ? f(x.e2e?.median) : x.status} | ${f(x.sessionRun?.median)} | ${x.note ?? ''} |`);
  lines.push('');
  return lines;
}

export function renderReport(r: BenchResults): string {
  const m = r.machine;
  const head = [
    '# Imagine Flash benchmark',
    '',
    `${r.date} · bundle **${r.bundle.name}** (\`${r.bundle.path}\`) · ${r.runs} runs per recipe · \`${r.command}\``,
    '',
    `Machine: ${m.cpu}, ${m.cores} cores, ${m.memoryGiB.toFixed(0)} GiB, ${m.os}; load average ${m.loadAvgStart.map((x) => x.toFixed(2)).join(' ')} at the start, ${m.loadAvgEnd.map((x) => x.toFixed(2)).join(' ')} at the end.`,
    '',
    `Versions: ${Object.entries(r.versions).map(([k, v]) => `${k} ${v}`).join(', ')}. Browser backend: ${r.browser.backend}.`,
    '',
    `Prompts: ${r.browser.prompts.map((p) => `“${p}”`).join(', ')}.`,
    '',
  ];
  const notes = r.notes.length ? ['## Notes', '', ...r.notes.map((n) => `- ${n}`), ''] : [];
  return [
    ...head,
    ...latencySection(r),
    ...breakdownSection(r),
    ...tinyDecoderSection(r),
    ...liveSection(r),
    ...gridSection(r),
    ...nativeSection(r),
    ...coldAndThroughput(r),
    ...webgpuSection(r),
    ...notes,
  ].join('\n');
}

/** Before/after medians of two measurements (e.g. two builds on the same bundle), as Markdown. */
export function renderComparison(before: RecipeResult[], after: RecipeResult[], title: string): string {
  const rows: string[] = [`### ${title}`, '', '| recipe | figure | before ms | after ms | after / before |', '|---|---|---:|---:|---:|'];
  const keys: [BreakdownKey, string][] = [
    ['e2e', 'end to end'],
    ['workerTotal', 'worker total'],
    ['encode', 'text encoder stage'],
    ['textEncoderRun', 'text encoder session.run'],
    ['unetStepRun', 'UNet session.run per step'],
    ['scheduler', 'scheduler'],
    ['handoff', 'worker → page → commit'],
    ['canvas', 'canvas paint'],
  ];
  for (const a of measured(after)) {
    const b = measured(before).find((x) => x.id === a.id);
    if (!b) continue;
    for (const [k, label] of keys) {
      const [x, y] = [b.breakdown[k].median, a.breakdown[k].median];
      rows.push(`| ${a.id} | ${label} | ${f(x, 2)} | ${f(y, 2)} | ${ratio(y / x)} |`);
    }
    rows.push(`| ${a.id} | pipeline overhead, % of end to end | ${f(b.overheadPct.median)} | ${f(a.overheadPct.median)} | |`);
  }
  return `${rows.join('\n')}\n`;
}
