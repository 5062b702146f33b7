import { describe, expect, it } from 'vitest';
import { BREAKDOWN, percentile, renderComparison, renderReport, speedups, stats, wasmNativeRatios, type BenchResults, type BreakdownKey, type RecipeResult, type Stats } from '../../bench/report';

const flat = (ms: number): Stats => stats([ms * 0.9, ms, ms * 1.1]);

function recipe(id: 'flash-1' | 'flash-1-tiny' | 'flash-3' | 'teacher', e2e: number, stepRun: number): RecipeResult {
  const breakdown = Object.fromEntries(BREAKDOWN.map(([k]) => [k, flat(k === 'e2e' ? e2e : k === 'unetStepRun' ? stepRun : 1)])) as Record<BreakdownKey, Stats>;
  return { id, status: 'measured', label: `${id} recipe`, steps: id === 'teacher' ? 25 : id === 'flash-1-tiny' ? 1 : Number(id.slice(-1)), e2eRuns: [e2e], breakdown, overheadPct: flat(3), workerOverheadPct: flat(1) };
}

/** A small synthetic run: flash-2 missing from the bundle, a software WebGPU adapter. */
const results: BenchResults = {
  date: '2026-11-22T00:00:00.000Z',
  command: 'make bench BUNDLE=tests/fixtures/tiny-bundle RUNS=3',
  bundle: { path: 'tests/fixtures/tiny-bundle', name: 'tiny-random' },
  runs: 3,
  machine: { cpu: 'Test CPU', cores: 2, memoryGiB: 8, os: 'Linux', loadAvgStart: [1, 1, 1], loadAvgEnd: [2, 2, 2] },
  versions: { chromium: '156', 'onnxruntime-web': '1.22.0' },
  browser: { backend: 'WASM (2 threads)', threads: 2, prompts: ['a red circle'] },
  recipes: [recipe('flash-1', 10, 2), { id: 'flash-2', status: 'not in bundle' }, recipe('flash-3', 20, 2), recipe('teacher', 260, 6)],
  coldStart: { recipe: 'flash-1', emptyCacheMs: 1500, warmCacheMs: 700, note: '' },
  throughput: { recipe: 'flash-1', batch1ImagesPerSecond: 50, images: 10, note: 'sequential' },
  native: {
    onnxruntime: '1.31.1',
    numpy: '2',
    python: '3.11',
    threads: 2,
    runs: 20,
    timings: [
      { file: 'unet-flash-1/model.onnx', use: 'flash-1 step', batch: 1, ms: flat(1) },
      { file: 'unet/model.onnx', use: 'teacher step', batch: 2, ms: flat(5) },
    ],
    batchScaling: [
      { file: 'unet-flash-1/model.onnx', batch: 1, imagesPerSecond: 100 },
      { file: 'unet-flash-1/model.onnx', batch: 4, imagesPerSecond: 180 },
    ],
  },
  webgpu: { adapter: { available: true, fallback: true, description: 'google swiftshader' }, backend: 'WebGPU', runs: 1, recipes: [{ id: 'flash-1', status: 'measured', e2e: flat(2000), sessionRun: flat(1900) }] },
  notes: ['synthetic'],
};

describe('benchmark report', () => {
  it('percentiles interpolate like numpy', () => {
    expect(percentile([1, 2, 3, 4], 0.5)).toBe(2.5);
    expect(stats([5, 1, 3])).toMatchObject({ n: 3, median: 3, min: 1, max: 5, p10: 1.4, p90: 4.6 });
  });

  it('speedups and WASM/native ratios come from medians', () => {
    expect(speedups(results)['flash-3']).toBeCloseTo(13);
    expect(wasmNativeRatios(results).map((r) => [r.id, r.ratio])).toEqual([
      ['flash-1', 2],
      ['teacher', 1.2],
    ]);
  });

  it('renders every section as Markdown, with missing recipes and goals spelled out', () => {
    const md = renderReport(results);
    for (const h of ['# Imagine Flash benchmark', '## Warm end-to-end latency', '## Breakdown', '## Native onnxruntime 1.31.1', '## Cold start', '## Throughput', '## WebGPU', '## Notes']) {
      expect(md).toContain(h);
    }
    expect(md).toContain('| flash-2 | – | not in bundle | | | |');
    expect(md).toContain('| flash-1 (flash-1 recipe) | 3 | 10.0 | 9.2 | 10.8 | 26.00× |');
    expect(md).toContain('flash-3 ≥ 13× faster than the teacher end to end — 13.00×: met');
    expect(md).toContain('Goal: ≤ 1.5× — worst 2.00×: not met');
    expect(md).toContain('software fallback');
    expect(md).toContain('best batch 4');
    // every table row has as many cells as its header
    const tables = md.split('\n\n').filter((b) => b.startsWith('|'));
    for (const t of tables) {
      const rows = t.split('\n');
      const width = (rows[0] ?? '').split('|').length;
      for (const r of rows) expect(r.split('|').length, r).toBe(width);
    }
  });

  it('compares two runs by their medians', () => {
    const faster = { ...results, recipes: [recipe('flash-1', 5, 1)] };
    const md = renderComparison(results.recipes, faster.recipes, 'before → after');
    expect(md).toContain('| flash-1 | end to end | 10.00 | 5.00 | 0.50× |');
    expect(md).not.toContain('teacher');
  });

  it('reports the browser batch scaling with the best batch and its gain over batch 1', () => {
    const browserBatch = [
      { batch: 1, msPerBatch: 40, imagesPerSecond: 25 },
      { batch: 4, msPerBatch: 100, imagesPerSecond: 40 },
      { batch: 8, msPerBatch: 250, imagesPerSecond: 32 },
    ];
    const md = renderReport({ ...results, throughput: { ...results.throughput, browserBatch } });
    expect(md).toContain('batch 1: 25.0/s (40.0 ms), batch 4: 40.0/s (100.0 ms), batch 8: 32.0/s (250.0 ms); best batch 4 (1.60× batch 1).');
    expect(renderReport(results)).not.toContain('on a bare page');
  });

  it('live mode, the seed grid and the tiny decoder: their tables and the goals of issue 19', () => {
    const live = {
      charsPerSecond: 8,
      debounceMs: 200,
      prompts: 3,
      decoder: 'tiny',
      keystrokeToImage: stats([250, 260, 330]),
      pauseToImage: stats([50, 60, 130]),
      sessionRun: flat(30),
      workerTotal: flat(40),
      earlyImages: 0,
      embeddingCacheHits: 0,
    };
    const grid = { recipe: 'flash-1' as const, rounds: 3, batched: true, gridMs: flat(100), singlesMs: flat(160), gridImagesPerSecond: 40, singlesImagesPerSecond: 25, ratio: 1.6 };
    const tiny = recipe('flash-1-tiny', 7, 2);
    if (tiny.status !== 'measured') throw new Error('unreachable');
    tiny.breakdown.decode = flat(0.5);
    const md = renderReport({ ...results, recipes: [...results.recipes, tiny], live, grid });
    for (const h of ['## Live mode (?live=1), WASM', '## Seed grid (flash-1, 4 seeds)', '## Tiny VAE decoder']) expect(md).toContain(h);
    expect(md).toContain('| end of the pause → image painted | 3 | 60.0 | 116.0 | 130.0 |');
    expect(md).toContain('Goal: keystroke-pause → image ≤ 120 ms p90 on WASM — p90 116.0 ms: met.');
    expect(md).toContain('Goal: the seed grid ≥ 1.2× the images/s of four single generations — 1.60×: met.');
    expect(md).toContain('| decode stage (incl. to RGBA), ms | 1.00 | 0.50 | 0.50× |');
    expect(md).toContain('| end to end, ms | 10.00 | 7.00 | 0.70× |');
    const slow = renderReport({ ...results, live: { ...live, pauseToImage: stats([100, 150, 200]) }, grid: { ...grid, ratio: 1.1 } });
    expect(slow).toContain('p90 190.0 ms: not met');
    expect(slow).toContain('1.10×: not met');
    expect(slow).toContain('Not measured: the bundle has no tiny VAE decoder');
    // reports of earlier versions have neither
    expect(renderReport(results)).toContain('## Live mode\n\nNot measured.');
    const tables = md.split('\n\n').filter((b) => b.startsWith('|'));
    for (const t of tables) {
      const rows = t.split('\n');
      const width = (rows[0] ?? '').split('|').length;
      for (const r of rows) expect(r.split('|').length, r).toBe(width);
    }
  });

  it('a bundle without a teacher or native figures still renders', () => {
    const md = renderReport({ ...results, recipes: [recipe('flash-1', 10, 2)], native: null, webgpu: null });
    expect(md).toContain('n/a (flash-3 or teacher not in bundle)');
    expect(md).toContain('Not measured (no Python onnxruntime).');
  });
});
