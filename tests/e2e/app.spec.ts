import { expect, test, type Page } from '@playwright/test';

/** Records every request the page makes; the app must never leave its own origin (no CDN, no hub). */
function collectRequests(page: Page): string[] {
  const urls: string[] = [];
  page.on('request', (req) => urls.push(req.url()));
  return urls;
}

function expectSameOrigin(urls: string[], origin: string): void {
  expect(urls.length).toBeGreaterThan(0);
  const foreign = urls.filter((u) => !u.startsWith(`${origin}/`) && !u.startsWith('data:') && !u.startsWith('blob:'));
  expect(foreign).toEqual([]);
}

test('shell: title, controls, WASM backend, cross-origin isolation, no model bundle', async ({ page, baseURL }) => {
  const urls = collectRequests(page);
  // The repository may or may not ship models/: pin the "absent" case.
  await page.route('**/models/index.json', (route) => route.fulfill({ status: 404, body: 'Not found' }));
  await page.goto('/');

  await expect(page).toHaveTitle('Imagine Flash');
  await expect(page.getByRole('heading', { name: 'Imagine Flash' })).toBeVisible();
  await expect(page.getByLabel('Prompt')).toBeVisible();
  const steps = page.getByLabel('Steps');
  await expect(steps.locator('option')).toHaveText(['1', '2', '3']);
  await expect(page.getByLabel('Seed')).toBeVisible();
  await expect(page.getByRole('button', { name: 'Generate' })).toBeDisabled();

  // Headless chromium without --enable-unsafe-webgpu has no adapter.
  await expect(page.getByTestId('backend')).toContainText('WASM');
  await expect(page.getByTestId('model')).toHaveText('No model bundle found under /models/');
  expect(await page.evaluate(() => window.crossOriginIsolated)).toBe(true);
  // isolation enables multithreaded WASM: min(4, cores) threads
  const cores = await page.evaluate(() => navigator.hardwareConcurrency);
  const threads = Math.max(1, Math.min(4, cores));
  await expect(page.getByTestId('backend')).toContainText(`WASM (${threads} thread${threads === 1 ? '' : 's'};`);

  await steps.selectOption('3');
  await expect(steps).toHaveValue('3');
  expectSameOrigin(urls, new URL(baseURL ?? page.url()).origin);
});

test('shows the bundle listed in /models/index.json', async ({ page }) => {
  await page.route('**/models/index.json', (route) =>
    route.fulfill({ status: 200, contentType: 'application/json', body: '{"bundles": [{"id": "demo", "title": "Demo"}]}' }),
  );
  await page.goto('/');
  await expect(page.getByTestId('model')).toHaveText('Model bundle: Demo (not loaded)');
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

test('@webgpu a software WebGPU adapter (SwiftShader) is not used: the app stays on WASM', async ({ page }) => {
  await page.goto('/');
  const adapter = await page.evaluate(async () => {
    const gpu = (navigator as Navigator & { gpu?: { requestAdapter(): Promise<{ info?: { isFallbackAdapter?: boolean } } | null> } }).gpu;
    const a = gpu ? await gpu.requestAdapter() : null;
    return { hasGpu: !!gpu, hasAdapter: !!a, fallback: a?.info?.isFallbackAdapter ?? null };
  });
  expect(adapter).toEqual({ hasGpu: true, hasAdapter: true, fallback: true });
  await expect(page.getByTestId('backend')).toContainText('WASM');
  await expect(page.getByTestId('backend')).toContainText('software fallback');
});
