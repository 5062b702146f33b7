import { expect, test, type Page } from '@playwright/test';
import { generate, openApp, setOptions } from './helpers';

// Visual regression on the WASM backend with fixed seeds. The tiny bundle has random weights, so the
// images are noise-like, but deterministic. Machine-dependent text (thread count, timings) is masked.

const masks = (page: Page) => [page.getByTestId('backend'), page.getByTestId('timings'), page.locator('.compare-grid .ms')];

async function mainView(page: Page): Promise<void> {
  await openApp(page);
  await setOptions(page, { prompt: 'a red circle to the left of a blue square', seed: '42', steps: 2, nc: true });
  await generate(page);
  await expect(page.getByTestId('result-info')).toContainText('seed 42');
  await page.getByLabel('Prompt').blur();
}

test('main view, laptop width', async ({ page }) => {
  await page.setViewportSize({ width: 1280, height: 900 });
  await mainView(page);
  await expect(page).toHaveScreenshot('main-laptop.png', { mask: masks(page), animations: 'disabled', caret: 'hide' });
});

test('main view, phone width', async ({ page }) => {
  await page.setViewportSize({ width: 390, height: 844 });
  await mainView(page);
  await expect(page).toHaveScreenshot('main-phone.png', { mask: masks(page), animations: 'disabled', caret: 'hide', fullPage: true });
});

test('step comparison view with the split at 30%', async ({ page }) => {
  await page.setViewportSize({ width: 1280, height: 900 });
  await mainView(page);
  await page.getByRole('button', { name: 'Compare steps' }).click();
  await expect(page.locator('.compare-grid canvas')).toHaveCount(4, { timeout: 30_000 });
  const slider = page.getByRole('slider', { name: 'Split position' });
  await slider.focus();
  for (let i = 0; i < 4; i++) await page.keyboard.press('ArrowLeft');
  await expect(slider).toHaveAttribute('aria-valuenow', '30');
  await slider.blur();
  await expect(page).toHaveScreenshot('compare-laptop.png', { mask: masks(page), animations: 'disabled', caret: 'hide' });
});
