import { expect, test, type Locator, type Page } from '@playwright/test';
import { generate, openApp, setOptions } from './helpers';

const grid = (page: Page): Locator => page.locator('.compare-grid canvas');

async function pixels(canvas: Locator): Promise<number[]> {
  return canvas.evaluate((el) => {
    const c = el as HTMLCanvasElement;
    return Array.from(c.getContext('2d')?.getImageData(0, 0, c.width, c.height).data ?? []);
  });
}

/** Flips a byte in the middle of a bundle file as it is served: its sha256 no longer matches the manifest. */
async function corrupt(page: Page, file: string): Promise<void> {
  await page.route(`**/models/tiny-bundle/${file}`, async (route) => {
    const res = await route.fetch();
    const body = Buffer.from(await res.body());
    body[body.length >> 1] = (body[body.length >> 1] ?? 0) ^ 0xff;
    await route.fulfill({ response: res, body });
  });
}

test('Generate (button or Enter) while the comparison is shown re-runs it; its errors are shown there', async ({ page }) => {
  await openApp(page);
  await page.getByRole('button', { name: 'Compare steps' }).click();
  await expect(grid(page)).toHaveCount(4, { timeout: 30_000 });
  const first = await pixels(grid(page).first());

  await setOptions(page, { prompt: 'a red circel' });
  await page.getByRole('button', { name: 'Generate' }).click();
  await expect(page.getByTestId('compare-error')).toContainText('circel');
  await expect(grid(page)).toHaveCount(0);

  await setOptions(page, { prompt: 'two green stars', seed: '5' });
  await page.getByLabel('Prompt').press('Enter');
  await expect(grid(page)).toHaveCount(4, { timeout: 30_000 });
  await expect(page.getByTestId('compare-error')).toHaveCount(0);
  expect(await pixels(grid(page).first())).not.toEqual(first);
  // a comparison, not a single image behind it
  await expect(page.getByRole('region', { name: 'Step comparison' })).toBeVisible();
  await expect(page.getByTestId('history').locator('li')).toHaveCount(0);
});

test("the split never shows another variant's image: an opaque card says the teacher is still generating", async ({ page }) => {
  // the teacher's UNet is read on its first use: held back, it is still running when the flash images are in
  await page.route('**/models/tiny-bundle/unet/model.onnx', async (route) => {
    const res = await route.fetch();
    await new Promise((r) => setTimeout(r, 2500));
    await route.fulfill({ response: res });
  });
  await openApp(page);
  await page.getByRole('button', { name: 'Compare steps' }).click();
  await expect(grid(page)).toHaveCount(3, { timeout: 30_000 });
  const right = page.getByTestId('split-right');
  await expect(page.locator('.split-tag.right')).toHaveText('Teacher (25 steps)');
  await expect(right).toHaveText('Teacher (25 steps) — generating…');
  const card = right.locator('.split-pending');
  const background = await card.evaluate((el) => getComputedStyle(el).backgroundColor);
  expect(background).toMatch(/^rgb\(\d+, \d+, \d+\)$/); // no alpha: the left image cannot show through
  await expect(right.locator('canvas')).toHaveCount(0);
  await expect(grid(page)).toHaveCount(4, { timeout: 30_000 });
  await expect(right.locator('canvas')).toHaveCount(1);
});

test('one corrupt UNet (the default flash-2) leaves the rest of the app working, in the comparison too', async ({ page }) => {
  await corrupt(page, 'unet-flash-2/model.onnx');
  await openApp(page);
  await expect(page.getByTestId('model')).toContainText('tiny-random · 64×64 · verified · 1 file failed: unet-flash-2/model.onnx');
  await expect(page.getByRole('alert')).toContainText('unet-flash-2/model.onnx: sha256');

  await generate(page);
  await expect(page.getByRole('alert')).toContainText('unet-flash-2/model.onnx: sha256');
  await setOptions(page, { steps: 1 });
  await generate(page);
  await expect(page.getByRole('alert')).toHaveCount(0);
  await expect(page.getByTestId('result-info')).toContainText(/\b1 step\b/);
  await setOptions(page, { model: 'Teacher' });
  await generate(page);
  await expect(page.getByTestId('result-info')).toContainText(/25 steps/);

  // each variant gets its own image or its own error; the healthy ones after the failed one still run
  await page.getByRole('button', { name: 'Compare steps' }).click();
  await expect(grid(page)).toHaveCount(3, { timeout: 30_000 });
  await expect(page.getByRole('region', { name: 'Step comparison' })).toHaveAttribute('aria-busy', 'false');
  await expect(page.getByTestId('compare-1')).toContainText('failed');
  await expect(page.getByTestId('compare-error')).toHaveCount(0);
  await page.getByLabel('Right').selectOption({ label: '2 steps' });
  await expect(page.getByTestId('split-right')).toContainText('2 steps — failed: unet-flash-2/model.onnx: sha256');
  await expect(page.getByTestId('model')).toContainText('1 file failed: unet-flash-2/model.onnx');
});
