import { expect, test } from '@playwright/test';
import { collectRequests, expectSameOrigin, generate, openApp, setOptions } from './helpers';

// Each test gets a fresh browser context, hence a fresh service-worker registration and empty caches.

test('a second visit with the network cut: the app opens, stays cross-origin isolated and generates', async ({ page, context, baseURL }) => {
  const origin = new URL(baseURL ?? 'http://127.0.0.1').origin;
  // first visit: the app verifies the default model's files and keeps them in Cache Storage; the service
  // worker installs (precaching the shell and the ORT runtime) and is active once `ready` resolves
  await openApp(page, '?bundle=tiny-bundle');
  expect(await page.evaluate(async () => (await navigator.serviceWorker.ready).active?.state)).toBe('activated');

  const requests = collectRequests(page);
  // Offline, whatever the service worker and the app's own caches cannot answer fails: no request of the page
  // (or of its worker) may, and the page itself must come from the service worker (without one, the reload fails).
  const failed: string[] = [];
  page.on('requestfailed', (req) => failed.push(`${req.failure()?.errorText ?? 'failed'} ${req.url()}`));
  await context.setOffline(true);
  const navigation = await page.reload();
  expect(navigation?.fromServiceWorker(), 'the reloaded page came from the service worker').toBe(true);
  await expect(page.getByRole('button', { name: 'Generate' })).toBeEnabled({ timeout: 30_000 });
  expect(await page.evaluate(() => ({ controlled: !!navigator.serviceWorker.controller, isolated: window.crossOriginIsolated }))).toEqual({
    controlled: true,
    isolated: true,
  });
  await expect(page.getByTestId('model')).toContainText('verified');
  await expect(page.getByTestId('backend')).toContainText('threads');

  await setOptions(page, { prompt: 'a red circle above a blue star', seed: '7' });
  await generate(page);
  await expect(page.getByTestId('result')).toBeVisible();
  await expect(page.getByTestId('result-info')).toContainText('seed 7');
  await expect(page.getByRole('alert')).toHaveCount(0);

  expect(failed).toEqual([]);
  expectSameOrigin(requests, origin);

  // The weights stay the app's, in its content-addressed cache (re-verified by sha256 on every read); the
  // service worker keeps only the unhashed lists the app reads before it knows any hash.
  const cached = await page.evaluate(async () => {
    const out: Record<string, string[]> = {};
    for (const name of await caches.keys()) {
      const keys = await (await caches.open(name)).keys();
      out[name] = keys.map((r) => new URL(r.url)).filter((u) => u.pathname.startsWith('/models/')).map((u) => u.pathname + (u.searchParams.has('sha256') ? '?sha256' : ''));
    }
    return out;
  });
  const { 'imagine-flash-bundles-v1': appCache, ...swCaches } = cached;
  expect(appCache).toContain('/models/tiny-bundle/unet-flash-2/model.onnx?sha256');
  expect([...new Set(Object.values(swCaches).flat())].sort()).toEqual(['/models/index.json', '/models/tiny-bundle/manifest.json']);
});

test('installable: a web app manifest with icons from our own origin', async ({ page }) => {
  await page.goto('/');
  const href = await page.locator('link[rel=manifest]').getAttribute('href');
  expect(href).toBeTruthy();
  const manifest = await page.evaluate(async (url) => {
    const m = (await (await fetch(url)).json()) as { name: string; start_url: string; display: string; icons: { src: string; type: string }[] };
    const icons = await Promise.all(m.icons.map(async (i) => ({ type: i.type, status: (await fetch(new URL(i.src, new URL(url, location.href)))).status })));
    return { name: m.name, start_url: m.start_url, display: m.display, icons };
  }, href ?? '');
  expect(manifest).toMatchObject({ name: 'Imagine Flash', start_url: '/', display: 'standalone' });
  expect(manifest.icons).toContainEqual({ type: 'image/png', status: 200 });
  expect(manifest.icons.every((i) => i.status === 200)).toBe(true);
});
