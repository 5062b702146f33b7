import { expect, test } from '@playwright/test';
import { setOptions } from './helpers';

// The README's screenshot of the app with a real bundle. Skipped unless DOCS_BUNDLE names one, e.g.
// (stop any running preview server first, it would be reused):
//   MODELS_DIR=models DOCS_BUNDLE=shapescenes npx playwright test docs-screenshot --project chromium
// Writes docs/screenshot.png.

const bundle = process.env.DOCS_BUNDLE;

test('@docs screenshot of the app generating with a real bundle', async ({ page }) => {
  test.skip(!bundle, 'set DOCS_BUNDLE to take the README screenshot');
  test.setTimeout(300_000);
  await page.setViewportSize({ width: 1280, height: 860 });
  await page.goto(`/?bundle=${bundle}&backend=wasm&model=teacher`);
  await expect(page.getByRole('button', { name: 'Generate' })).toBeEnabled({ timeout: 180_000 });
  await setOptions(page, { prompt: 'a small red heart above a large blue square on a white background', seed: '3', model: 'Flash', steps: 2 });
  await page.getByRole('button', { name: 'Generate' }).click();
  await expect(page.getByTestId('result-info')).toBeVisible({ timeout: 240_000 });
  await expect(page.getByTestId('busy')).toHaveCount(0, { timeout: 240_000 });
  // the same prompt and seed at 1, 2, 3 steps and with the teacher
  await page.getByRole('button', { name: 'Compare steps' }).click();
  await expect(page.locator('.compare-grid canvas')).toHaveCount(4, { timeout: 240_000 });
  await expect(page.getByTestId('busy')).toHaveCount(0, { timeout: 240_000 });
  await page.screenshot({ path: 'docs/screenshot.png', fullPage: true });
});
