import { writeFileSync } from 'node:fs';
import { expect, test, type Page } from '@playwright/test';
import { openApp, setOptions } from './helpers';

// Latency on the WASM backend, for the closing note. Skipped unless PERF_BUNDLE names a bundle
// under the served models folder, e.g. (stop any running preview server first, it would be reused):
//   MODELS_DIR=models PERF_BUNDLE=shapescenes npx playwright test latency --project chromium
// Writes test-results/latency-<bundle>.json.

const bundle = process.env.PERF_BUNDLE;
const PROMPT = 'a red circle to the left of a blue square';
const RUNS = 5;

async function timeToImage(page: Page, url: string): Promise<number> {
  const t0 = Date.now();
  await page.goto(url);
  await expect(page.getByTestId('result-info')).toBeVisible({ timeout: 300_000 });
  return Date.now() - t0;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)] as number;
}

test('@perf cold start, reload with a warm cache, warm latency per model', async ({ page }) => {
  test.skip(!bundle, 'set PERF_BUNDLE to measure');
  test.setTimeout(900_000);
  const link = `/?bundle=${bundle}&prompt=${encodeURIComponent(PROMPT)}&seed=1&steps=1&model=flash&backend=wasm`;
  const coldMs = await timeToImage(page, link);
  const reloadMs = await timeToImage(page, link);
  await openApp(page, `?bundle=${bundle}&backend=wasm`);
  const warm: Record<string, { wallMs: number; pipelineMs: number }> = {};
  for (const [name, o] of [
    ['flash-1', { model: 'Flash', steps: 1 }],
    ['flash-2', { model: 'Flash', steps: 2 }],
    ['flash-3', { model: 'Flash', steps: 3 }],
    ['teacher', { model: 'Teacher' }],
  ] as const) {
    await setOptions(page, { prompt: PROMPT, ...o });
    const walls: number[] = [];
    const pipes: number[] = [];
    for (let i = 0; i <= RUNS; i++) {
      await setOptions(page, { seed: String(100 + i) });
      const t0 = Date.now();
      await page.getByRole('button', { name: 'Generate' }).click();
      await expect(page.getByTestId('result-info')).toContainText(`seed ${100 + i}`, { timeout: 300_000 });
      await expect(page.getByTestId('busy')).toBeHidden();
      const wall = Date.now() - t0;
      const total = await page.getByTestId('timings').locator('tr.total td').textContent();
      // the first run of each model loads its UNet: not a warm run
      if (i > 0) {
        walls.push(wall);
        pipes.push(Number.parseFloat(total ?? 'NaN'));
      }
    }
    warm[name] = { wallMs: median(walls), pipelineMs: median(pipes) };
  }
  const backend = await page.getByTestId('backend').textContent();
  const result = { bundle, backend, coldStartToFirstImageMs: coldMs, reloadWarmCacheToFirstImageMs: reloadMs, warmMedianOf: RUNS, warm };
  writeFileSync(`test-results/latency-${bundle}.json`, `${JSON.stringify(result, null, 2)}\n`);
  test.info().annotations.push({ type: 'latency', description: JSON.stringify(result) });
});
