import { expect, test, type Page } from '@playwright/test';
import { openApp } from './helpers';

const PHONE = { width: 375, height: 667 };

const scrollWidth = (page: Page) => page.evaluate(() => document.documentElement.scrollWidth);

/** Generate without Playwright's own scroll-into-view of the button, so any scroll is the app's. */
async function generateInPlace(page: Page): Promise<void> {
  await page.getByRole('button', { name: 'Generate' }).evaluate((b) => (b as HTMLButtonElement).click());
  await expect(page.getByTestId('busy')).toHaveCount(0, { timeout: 30_000 });
}

test('phone: the new image is scrolled into view, and nothing is wider than the screen', async ({ page }) => {
  await page.setViewportSize(PHONE);
  await openApp(page);
  expect(await page.evaluate(() => window.scrollY)).toBe(0);
  await generateInPlace(page);
  await expect(page.getByTestId('result')).toBeInViewport({ ratio: 0.99 });
  expect(await scrollWidth(page)).toBeLessThanOrEqual(PHONE.width);

  // already in view: the next image (same request) leaves the scroll where it is
  await expect.poll(() => page.evaluate(() => window.scrollY)).toBeGreaterThan(0);
  const y = await page.evaluate(() => window.scrollY);
  const before = await page.getByTestId('result').getAttribute('aria-label');
  await generateInPlace(page);
  await expect(page.getByTestId('result')).toHaveAttribute('aria-label', before ?? '');
  expect(await page.evaluate(() => window.scrollY)).toBe(y);
});

test('phone: the comparison view fits the screen width', async ({ page }) => {
  await page.setViewportSize(PHONE);
  await openApp(page);
  await page.getByRole('button', { name: 'Compare steps' }).click();
  await expect(page.locator('.compare-grid canvas')).toHaveCount(4, { timeout: 30_000 });
  expect(await scrollWidth(page)).toBeLessThanOrEqual(PHONE.width);
});

test('wide screen: a new image never moves the scroll', async ({ page }) => {
  // short enough that the image does not fit: a phone would scroll to it, a laptop must not
  await page.setViewportSize({ width: 1280, height: 420 });
  await openApp(page);
  await generateInPlace(page);
  await expect(page.getByTestId('result')).toBeVisible();
  await page.waitForTimeout(300);
  expect(await page.evaluate(() => window.scrollY)).toBe(0);
});
