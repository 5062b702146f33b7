import { expect, test } from '@playwright/test';
import { collectRequests, expectSameOrigin } from './helpers';

test('shell: title, controls, WASM backend, cross-origin isolation, no model bundle', async ({ page, baseURL }) => {
  const urls = collectRequests(page);
  // Pin the "nothing to load" case, whatever /models/ holds.
  await page.route('**/models/index.json', (route) => route.fulfill({ status: 404, body: 'Not found' }));
  await page.goto('/');

  await expect(page).toHaveTitle('Imagine Flash');
  await expect(page.getByRole('heading', { name: 'Imagine Flash' })).toBeVisible();
  await expect(page.getByLabel('Prompt')).toBeVisible();
  const steps = page.getByRole('radiogroup', { name: 'Steps' });
  await expect(steps.getByRole('radio')).toHaveCount(3);
  await expect(page.getByRole('textbox', { name: 'Seed' })).toBeVisible();
  await expect(page.getByRole('button', { name: 'Generate' })).toBeDisabled();

  // Headless chromium without --enable-unsafe-webgpu has no adapter.
  await expect(page.getByTestId('backend')).toContainText('WASM');
  await expect(page.getByTestId('model')).toHaveText('No model bundle found under /models/');
  expect(await page.evaluate(() => window.crossOriginIsolated)).toBe(true);
  // isolation enables multithreaded WASM: min(4, cores) threads
  const cores = await page.evaluate(() => navigator.hardwareConcurrency);
  const threads = Math.max(1, Math.min(4, cores));
  await expect(page.getByTestId('backend')).toContainText(`WASM (${threads} thread${threads === 1 ? '' : 's'};`);

  await steps.getByRole('radio', { name: '3' }).check();
  await expect(steps.getByRole('radio', { name: '3' })).toBeChecked();
  expectSameOrigin(urls, new URL(baseURL ?? page.url()).origin);
});

test('a bundle listed in /models/index.json that is not there: a clear error, Generate stays off', async ({ page }) => {
  await page.route('**/models/index.json', (route) =>
    route.fulfill({ status: 200, contentType: 'application/json', body: '{"bundles": [{"id": "demo", "title": "Demo"}]}' }),
  );
  await page.goto('/');
  await expect(page.getByTestId('model')).toHaveText(/Could not load Demo: manifest.json: neither manifest.json nor model_index.json was found in \/models\/demo\//);
  await expect(page.getByRole('button', { name: 'Generate' })).toBeDisabled();
});

test('serves the onnxruntime-web runtime and /models/ from our own origin', async ({ page }) => {
  await page.goto('/');
  const probe = await page.evaluate(async () => {
    const head = async (url: string) => {
      const r = await fetch(url, { method: 'HEAD' });
      return { status: r.status, type: r.headers.get('content-type'), coep: r.headers.get('cross-origin-embedder-policy') };
    };
    return {
      wasm: await head('/ort/ort-wasm-simd-threaded.jsep.wasm'),
      mjs: await head('/ort/ort-wasm-simd-threaded.jsep.mjs'),
      outside: (await fetch('/ort/ort.min.mjs', { method: 'HEAD' })).status,
      missingModel: await head('/models/no-such-bundle/manifest.json'),
    };
  });
  expect(probe.wasm).toEqual({ status: 200, type: 'application/wasm', coep: 'require-corp' });
  expect(probe.mjs.status).toBe(200);
  expect(probe.outside).toBe(404);
  // a missing model file is a real 404, never the SPA's index.html
  expect(probe.missingModel.status).toBe(404);
});

test('@webgpu a software WebGPU adapter (SwiftShader) is not used by default: the app stays on WASM', async ({ page }) => {
  await page.goto('/');
  const adapter = await page.evaluate(async () => {
    const gpu = (navigator as Navigator & { gpu?: { requestAdapter(): Promise<{ info?: { isFallbackAdapter?: boolean } } | null> } }).gpu;
    const a = gpu ? await gpu.requestAdapter() : null;
    return { hasGpu: !!gpu, hasAdapter: !!a, fallback: a?.info?.isFallbackAdapter ?? null };
  });
  expect(adapter).toEqual({ hasGpu: true, hasAdapter: true, fallback: true });
  await expect(page.getByRole('button', { name: 'Generate' })).toBeEnabled({ timeout: 30_000 });
  await expect(page.getByTestId('backend')).toContainText('WASM');
  await expect(page.getByTestId('backend')).toContainText('software fallback');
});
