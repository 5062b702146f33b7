import { expect, test } from '@playwright/test';
import { canvasPixels, generate, maxPixelDiff, openApp, parityCases, setOptions } from './helpers';

// Runs in the chromium-webgpu project (--enable-unsafe-webgpu: SwiftShader, a software fallback adapter).
// The app only uses such an adapter when WebGPU is forced; slow, so one small image.

test('@webgpu forced WebGPU and WASM agree on the tiny bundle; a lost device falls back to WASM', async ({ page, context }) => {
  test.setTimeout(180_000);
  const c = parityCases().find((p) => p.bundle === 'tiny-bundle' && p.model === 'flash' && p.steps === 1);
  if (!c) throw new Error('no flash-1 parity case');
  const options = { prompt: c.prompt, seed: String(c.seed), steps: c.steps, nc: c.noise_correction } as const;

  const wasm = await context.newPage();
  await openApp(wasm, '?backend=wasm');
  await setOptions(wasm, options);
  await generate(wasm);
  const wasmPixels = (await canvasPixels(wasm)).data;

  await openApp(page, '?backend=webgpu&debug');
  await expect(page.getByTestId('backend')).toContainText('WebGPU');
  await expect(page.getByTestId('backend')).toContainText('software fallback adapter, fp32 only');
  await setOptions(page, options);
  await page.getByRole('button', { name: 'Generate' }).click();
  await expect(page.getByTestId('busy')).toHaveCount(0, { timeout: 150_000 });
  await expect(page.getByRole('alert')).toHaveCount(0);
  await expect(page.getByTestId('result-info')).toContainText('WebGPU');
  const gpuPixels = (await canvasPixels(page)).data;
  let diff = 0;
  gpuPixels.forEach((v, i) => (diff = Math.max(diff, Math.abs(v - (wasmPixels[i] as number)))));
  test.info().annotations.push({ type: 'webgpu-vs-wasm', description: `max |Δpixel| ${diff}/255` });
  expect(diff).toBeLessThanOrEqual(2);
  expect(maxPixelDiff(gpuPixels, c)).toBeLessThanOrEqual(2);

  // A driver reset: the device is destroyed; the next generation runs on WASM and says so.
  const lost = await page.evaluate(async () => {
    const dbg = (window as unknown as { imagineFlashDebug: { loseDevice(): Promise<{ ok: boolean; value?: { done: boolean } }> } }).imagineFlashDebug;
    return dbg.loseDevice();
  });
  expect(lost).toEqual({ ok: true, value: { done: true } });
  await generate(page);
  await expect(page.getByTestId('backend-notice')).toContainText('WebGPU device lost');
  await expect(page.getByTestId('backend')).toContainText('WASM');
  await expect(page.getByTestId('result-info')).toContainText('WASM');
  const after = (await canvasPixels(page)).data;
  expect(after).toEqual(wasmPixels);
});
