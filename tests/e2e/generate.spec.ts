import { expect, test } from '@playwright/test';
import { canvasPixels, collectRequests, expectSameOrigin, generate, maxPixelDiff, openApp, parityCases, seedBox, setOptions } from './helpers';

// WASM backend (plain headless chromium has no WebGPU adapter); /models/ serves tests/fixtures.

const PROMPT = 'a red circle to the left of a blue square';
const parity = parityCases();

test.describe('end-to-end generation with the tiny bundle', () => {
  for (const c of parity.filter((p) => p.bundle === 'tiny-bundle' && p.decoder === 'full')) {
    const name = c.model === 'teacher' ? 'teacher (DPM-Solver++ 25 steps, CFG)' : `flash-${c.steps}${c.noise_correction ? '' : ' without noise correction'}`;
    test(`${name}: same pixels as the Python pipeline (≤ 2/255)`, async ({ page }) => {
      await openApp(page);
      await setOptions(page, { prompt: c.prompt, seed: String(c.seed), model: c.model === 'teacher' ? 'Teacher' : 'Flash' });
      if (c.model === 'flash') await setOptions(page, { steps: c.steps, nc: c.noise_correction });
      await generate(page);
      const info = page.getByTestId('result-info');
      await expect(info).toContainText(c.model === 'teacher' ? 'Teacher, 25 steps (DPM-Solver++, CFG 4)' : `Flash, ${c.steps} step${c.steps === 1 ? '' : 's'} (DDIM`);
      await expect(info).toContainText(`“${c.prompt}”`);
      // noise correction changes the image only from 2 steps, so only then is it named
      if (c.noise_correction && c.steps > 1) await expect(info).toContainText('noise correction');
      else await expect(info).not.toContainText('noise correction');
      await expect(info).toContainText(`seed ${c.seed}`);
      // per-stage timings: tokenize, encode, each UNet step (the teacher's 25 summarised), decode
      const timings = page.getByTestId('timings');
      for (const stage of ['tokenize', 'encode', 'decode']) await expect(timings).toContainText(stage);
      if (c.model === 'flash') await expect(timings.locator('tr.unet')).toHaveCount(c.steps);
      else await expect(timings).toContainText('25 UNet steps');
      const px = await canvasPixels(page);
      expect([px.width, px.height]).toEqual([64, 64]);
      const diff = maxPixelDiff(px.data, c);
      test.info().annotations.push({ type: 'parity', description: `${name}: max |Δpixel| ${diff}/255` });
      expect(diff).toBeLessThanOrEqual(2);
    });
  }
});

test('opens a standard SD ONNX folder (tiny-sd) through the same loader, unverified', async ({ page }) => {
  const c = parity.find((p) => p.bundle === 'tiny-sd' && p.model === 'flash');
  if (!c) throw new Error('no tiny-sd parity case');
  await openApp(page, '?bundle=tiny-sd');
  await expect(page.getByTestId('model')).toContainText('unverified (no hashes)');
  await setOptions(page, { prompt: c.prompt, seed: String(c.seed), steps: c.steps, nc: c.noise_correction });
  await generate(page);
  await expect(page.getByTestId('result-info')).toContainText(`Flash, ${c.steps} steps (DDIM`);
  expect(maxPixelDiff((await canvasPixels(page)).data, c)).toBeLessThanOrEqual(2);
});

test("a standard folder's UNet weights beside its graph (ONNX external data) are read too; missing, they are named", async ({ page }) => {
  await page.route('**/models/tiny-sd/unet/model.onnx_data', (route) => route.fulfill({ status: 404, body: 'Not found' }));
  await page.goto('/?bundle=tiny-sd&backend=wasm');
  // its one UNet runs every recipe: the folder is refused when it opens, naming the file, with no Generate that would fail
  await expect(page.getByTestId('model')).toContainText('Could not load', { timeout: 30_000 });
  await expect(page.getByTestId('model')).toContainText('unet/model.onnx_data: is missing from the bundle (HTTP 404)');
  await expect(page.getByRole('button', { name: 'Generate' })).toBeDisabled();
});

test('switching bundles in the picker loads the other one', async ({ page }) => {
  await openApp(page);
  await page.getByText('Model and settings').click();
  await page.getByLabel('Model bundle').selectOption('tiny-sd');
  await expect(page.getByTestId('model')).toContainText('tiny-sd', { timeout: 30_000 });
  await expect(page.getByRole('button', { name: 'Generate' })).toBeEnabled();
  await page.getByLabel('Open a folder under /models/').fill('tiny-bundle');
  await page.getByRole('button', { name: 'Open', exact: true }).click();
  await expect(page.getByTestId('model')).toContainText('tiny-random · 64×64 · verified', { timeout: 30_000 });
});

test.describe('bad input', () => {
  test('empty prompt, unknown words, long prompts', async ({ page }) => {
    await openApp(page);
    await setOptions(page, { prompt: '   ' });
    await page.getByRole('button', { name: 'Generate' }).click();
    await expect(page.getByRole('alert')).toHaveText('Enter a prompt first.');

    await setOptions(page, { prompt: 'a red circel next to a zebra' });
    await generate(page);
    const alert = page.getByRole('alert');
    await expect(alert).toContainText('does not know the words "circel" (did you mean "circle"?), "next", "zebra"');
    await expect(alert).toContainText('Words it knows:');
    await expect(alert).toContainText('triangle');

    // our bundle's grammar allows no prompt this long; a standard SD folder takes any text and truncates it
    const long = Array.from({ length: 30 }, () => 'a red circle').join(' and ');
    await setOptions(page, { prompt: long, steps: 1 });
    await generate(page);
    await expect(alert).toContainText('"and" cannot follow "circle"');
    await openApp(page, '?bundle=tiny-sd');
    await setOptions(page, { prompt: long, steps: 1 });
    await generate(page);
    await expect(page.getByTestId('truncation')).toContainText('the model reads the first 77');
    await expect(page.getByRole('alert')).toHaveCount(0);
  });

  test('non-numeric, negative, fractional and huge seeds are explained; randomize gives a valid one', async ({ page }) => {
    await openApp(page);
    for (const [seed, message] of [
      ['abc', 'Seed "abc" is not a whole number from 0 to 4294967295.'],
      ['-3', 'Seed "-3" is not a whole number'],
      ['1.5', 'Seed "1.5" is not a whole number'],
      ['4294967296', 'Seed 4294967296 is too large: use a whole number from 0 to 4294967295.'],
      ['99999999999999999999999', 'is too large'],
      ['', 'Seed is empty'],
    ] as const) {
      await setOptions(page, { seed });
      await page.getByRole('button', { name: 'Generate' }).click();
      await expect(page.getByRole('alert')).toContainText(message);
    }
    await page.getByRole('button', { name: 'Random seed' }).click();
    const seed = await seedBox(page).inputValue();
    expect(Number(seed)).toBeGreaterThanOrEqual(0);
    expect(Number(seed)).toBeLessThanOrEqual(4294967295);
    await generate(page);
    await expect(page.getByTestId('result-info')).toContainText(`seed ${seed}`);
  });

  test('a corrupted model file: an error naming the file, and the rest keeps working', async ({ page }) => {
    await page.route('**/models/tiny-bundle/unet-flash-3/model.onnx', async (route) => {
      const res = await route.fetch();
      const body = Buffer.from(await res.body());
      body[body.length >> 1] = (body[body.length >> 1] ?? 0) ^ 0xff;
      await route.fulfill({ response: res, body });
    });
    await openApp(page);
    await setOptions(page, { steps: 3 });
    await generate(page);
    await expect(page.getByRole('alert')).toContainText('unet-flash-3/model.onnx: sha256');
    await expect(page.getByRole('alert')).toContainText('does not match the manifest');
    await setOptions(page, { steps: 1 });
    await generate(page);
    await expect(page.getByRole('alert')).toHaveCount(0);
    await expect(page.getByTestId('result-info')).toContainText('Flash, 1 step (DDIM');
  });

  test('a missing model file is named too', async ({ page }) => {
    await page.route('**/models/tiny-bundle/unet/model.onnx', (route) => route.fulfill({ status: 404, body: 'Not found' }));
    await openApp(page);
    await setOptions(page, { model: 'Teacher' });
    await generate(page);
    await expect(page.getByRole('alert')).toContainText('unet/model.onnx: is missing from the bundle (HTTP 404)');
  });

  test('rapid repeated clicks: the latest request wins, one final image, no pile-up', async ({ page }) => {
    await openApp(page);
    await setOptions(page, { model: 'Teacher' });
    // six clicks within one task: faster than any generation can finish
    await page.getByRole('button', { name: 'Generate' }).evaluate((b) => {
      for (let i = 0; i < 6; i++) (b as HTMLButtonElement).click();
    });
    await expect(page.getByTestId('busy')).toHaveCount(0, { timeout: 30_000 });
    await expect(page.getByTestId('result-info')).toContainText('Teacher, 25 steps (DPM-Solver++');
    await expect(page.getByTestId('history').locator('li')).toHaveCount(1);
    await expect(page.getByRole('alert')).toHaveCount(0);
  });
});

test('cancel mid-generation: the run stops, no image is added, the app stays usable', async ({ page }) => {
  await openApp(page);
  await setOptions(page, { steps: 1 });
  await generate(page);
  await setOptions(page, { model: 'Teacher' });
  await page.evaluate(() => {
    // cancel the moment the busy bar's button exists: a mutation observer runs before the worker's next message,
    // so a fast machine cannot finish the run first (polling per frame could)
    const cancelButton = () => document.querySelector('[data-testid=busy] button') as HTMLButtonElement | null;
    const observer = new MutationObserver(() => {
      const cancel = cancelButton();
      if (cancel) {
        observer.disconnect();
        cancel.click();
      }
    });
    observer.observe(document.body, { childList: true, subtree: true });
    Array.from(document.querySelectorAll('button')).find((b) => b.textContent === 'Generate')?.click();
  });
  await expect(page.getByTestId('busy')).toHaveCount(0);
  await expect(page.getByTestId('history').locator('li')).toHaveCount(1);
  await expect(page.getByTestId('result-info')).toContainText('Flash, 1 step (DDIM');
  await expect(page.getByRole('alert')).toHaveCount(0);
  await generate(page);
  await expect(page.getByTestId('result-info')).toContainText('Teacher, 25 steps (DPM-Solver++');
});

test('keyboard only: Tab to the prompt, type, Enter generates; arrows pick steps', async ({ page }) => {
  await openApp(page);
  await page.locator('body').focus();
  await page.keyboard.press('Tab');
  await expect(page.getByLabel('Prompt')).toBeFocused();
  await page.keyboard.press('ControlOrMeta+A');
  await page.keyboard.type('a blue square on a white background');
  await page.keyboard.press('Tab'); // Generate
  await page.keyboard.press('Tab'); // Model: Flash
  await page.keyboard.press('Tab'); // Steps: 2 (the checked radio)
  await expect(page.getByRole('radio', { name: '2' })).toBeFocused();
  await page.keyboard.press('ArrowRight');
  await expect(page.getByRole('radio', { name: '3' })).toBeChecked();
  await page.keyboard.press('Shift+Tab');
  await page.keyboard.press('Shift+Tab');
  await page.keyboard.press('Shift+Tab');
  await expect(page.getByLabel('Prompt')).toBeFocused();
  await page.keyboard.press('Enter');
  await expect(page.getByTestId('result-info')).toContainText('Flash, 3 steps (DDIM', { timeout: 30_000 });
});

test('the URL carries the state: a link reproduces the image', async ({ page, context }) => {
  await openApp(page);
  await setOptions(page, { prompt: 'two green stars', seed: '1234', steps: 3, nc: false });
  await generate(page);
  const url = page.url();
  expect(new URL(url).search).toBe('?prompt=two+green+stars&seed=1234&steps=3&model=flash&nc=0&bundle=tiny-bundle&made=wasm');
  const first = await canvasPixels(page);

  const other = await context.newPage();
  await other.goto(url);
  await expect(other.getByTestId('result-info')).toContainText('Flash, 3 steps (DDIM) · “two green stars” · seed 1234', { timeout: 30_000 });
  await expect(other.getByLabel('Prompt')).toHaveValue('two green stars');
  await expect(other.getByLabel('Noise correction')).not.toBeChecked();
  expect((await canvasPixels(other)).data).toEqual(first.data);
});

test('history keeps each image with a PNG download', async ({ page }) => {
  await openApp(page);
  await setOptions(page, { seed: '1' });
  await generate(page);
  await setOptions(page, { seed: '2', steps: 1 });
  await generate(page);
  const items = page.getByTestId('history').locator('li');
  await expect(items).toHaveCount(2);
  const download = page.waitForEvent('download');
  await items.nth(1).getByRole('button', { name: /Download PNG/ }).click();
  const file = await download;
  expect(file.suggestedFilename()).toBe('imagine-flash_a-red-circle-to-the-left-of-a-blue-square_flash-2_seed1.png');
  const bytes = await (await file.createReadStream()).toArray();
  expect(Buffer.concat(bytes).subarray(1, 4).toString()).toBe('PNG');
  // showing an older image restores its settings
  await items.nth(1).locator('button.thumb').click();
  await expect(seedBox(page)).toHaveValue('1');
  await expect(page.getByRole('radio', { name: '2' })).toBeChecked();
});

test('step comparison: 1, 2, 3 steps and the teacher with a draggable split', async ({ page }) => {
  await openApp(page);
  await page.getByRole('button', { name: 'Compare steps' }).click();
  const grid = page.locator('.compare-grid canvas');
  await expect(grid).toHaveCount(4, { timeout: 30_000 });
  const slider = page.getByRole('slider', { name: 'Split position' });
  await expect(slider).toHaveAttribute('aria-valuenow', '50');
  await slider.focus();
  await page.keyboard.press('ArrowLeft');
  await expect(slider).toHaveAttribute('aria-valuenow', '45');
  const box = await page.getByTestId('split').boundingBox();
  if (!box) throw new Error('no split box');
  await page.mouse.move(box.x + box.width * 0.5, box.y + box.height / 2);
  await page.mouse.down();
  await page.mouse.move(box.x + box.width * 0.25, box.y + box.height / 2, { steps: 4 });
  await page.mouse.up();
  await expect(slider).toHaveAttribute('aria-valuenow', '25');
  await page.getByLabel('Left').selectOption({ label: '2 steps' });
  await expect(page.locator('.split-tag.left')).toHaveText('2 steps');
  await expect(page.locator('.split-tag.right')).toHaveText('Teacher (25 steps)');
});

test('model download progress is shown while files arrive', async ({ page }) => {
  await page.route('**/models/tiny-bundle/unet-flash-2/model.onnx', async (route) => {
    const res = await route.fetch();
    await new Promise((r) => setTimeout(r, 1500));
    await route.fulfill({ response: res });
  });
  await page.goto('/');
  const bar = page.getByTestId('load-progress');
  await expect(bar).toContainText('Downloading');
  await expect(bar.getByRole('progressbar', { name: 'Model download' })).toBeVisible();
  await expect(page.getByRole('button', { name: 'Generate' })).toBeEnabled({ timeout: 30_000 });
  await expect(bar).toBeHidden();
});

test('a reload reads the model from the Cache API, not the network; no request leaves the origin', async ({ page, baseURL }) => {
  const urls = collectRequests(page);
  await openApp(page);
  await generate(page);
  const onnx = (list: string[]): string[] => list.filter((u) => u.endsWith('.onnx'));
  expect(onnx(urls).length).toBeGreaterThan(0);
  urls.length = 0;
  await page.reload();
  await expect(page.getByRole('button', { name: 'Generate' })).toBeEnabled({ timeout: 30_000 });
  await generate(page);
  expect(onnx(urls)).toEqual([]);
  expect(urls.some((u) => u.endsWith('/manifest.json'))).toBe(true);
  expectSameOrigin(urls, new URL(baseURL ?? page.url()).origin);
});

test('no request leaves the page origin through a full session', async ({ page, baseURL }) => {
  const urls = collectRequests(page);
  await openApp(page, `?prompt=${encodeURIComponent(PROMPT)}&seed=3`);
  await expect(page.getByTestId('result-info')).toBeVisible({ timeout: 30_000 });
  await page.getByRole('button', { name: 'Compare steps' }).click();
  await expect(page.locator('.compare-grid canvas')).toHaveCount(4, { timeout: 30_000 });
  await page.getByText('Model and settings').click();
  await page.getByLabel('Model bundle').selectOption('tiny-sd');
  await expect(page.getByRole('button', { name: 'Generate' })).toBeEnabled({ timeout: 30_000 });
  expectSameOrigin(urls, new URL(baseURL ?? page.url()).origin);
  // WASM sessions run on onnxruntime-web's plain WASM build; its WebGPU-capable (JSEP) runtime is never fetched
  expect(urls.some((u) => u.endsWith('/ort/ort-wasm-simd-threaded.wasm'))).toBe(true);
  expect(urls.filter((u) => u.includes('.jsep.'))).toEqual([]);
});
