import { expect, test, type Page } from '@playwright/test';
import { canvasPixels, generate, openApp, seedBox, setOptions } from './helpers';

const items = (page: Page) => page.getByTestId('history').locator('li');

/** Records in the app's IndexedDB history store (0 when the database does not exist yet). */
async function storedCount(page: Page): Promise<number> {
  return page.evaluate(
    () =>
      new Promise<number>((resolve, reject) => {
        const open = indexedDB.open('imagine-flash');
        open.onerror = () => reject(open.error);
        open.onsuccess = () => {
          const db = open.result;
          if (!db.objectStoreNames.contains('history')) {
            db.close();
            resolve(0);
            return;
          }
          const count = db.transaction('history', 'readonly').objectStore('history').count();
          count.onsuccess = () => {
            db.close();
            resolve(count.result);
          };
          count.onerror = () => reject(count.error);
        };
      }),
  );
}

test('history is kept across a reload, with its pixels; Clear clears the kept copy too', async ({ page }) => {
  await openApp(page);
  await setOptions(page, { seed: '1' });
  await generate(page);
  const first = await canvasPixels(page);
  await setOptions(page, { seed: '2', steps: 1 });
  await generate(page);
  await expect(items(page)).toHaveCount(2);
  await expect.poll(() => storedCount(page)).toBe(2);

  await openApp(page); // a new visit without a link
  await expect(items(page)).toHaveCount(2);
  await items(page).nth(1).locator('button.thumb').click();
  await expect(seedBox(page)).toHaveValue('1');
  await expect(page.getByRole('radio', { name: '2' })).toBeChecked();
  expect((await canvasPixels(page)).data).toEqual(first.data);

  await page.getByRole('button', { name: 'Clear' }).click();
  await expect(items(page)).toHaveCount(0);
  await expect.poll(() => storedCount(page)).toBe(0);
  await openApp(page);
  await generate(page);
  await expect(items(page)).toHaveCount(1);
});

test('pressing Enter 30 times on one request keeps one history entry', async ({ page }) => {
  await openApp(page);
  const prompt = page.getByLabel('Prompt');
  for (let i = 0; i < 30; i++) {
    await prompt.press('Enter');
    await expect(page.getByTestId('busy')).toHaveCount(0, { timeout: 30_000 });
  }
  await expect(page.getByTestId('result')).toBeVisible();
  await expect(items(page)).toHaveCount(1);
  await expect.poll(() => storedCount(page)).toBe(1);
});

test('clicking a history item puts its link in the address bar, and the link reproduces it', async ({ page, context }) => {
  await openApp(page);
  await setOptions(page, { prompt: 'two green stars', seed: '7', steps: 3, nc: false });
  await generate(page);
  const old = await canvasPixels(page);
  await setOptions(page, { seed: '8', steps: 1 });
  await generate(page);
  await expect(page).toHaveURL(/seed=8&steps=1/);

  await items(page).nth(1).locator('button.thumb').click();
  expect(new URL(page.url()).search).toBe('?prompt=two+green+stars&seed=7&steps=3&model=flash&nc=0&bundle=tiny-bundle&made=wasm');
  const other = await context.newPage();
  await other.goto(page.url());
  await expect(other.getByTestId('result-info')).toContainText('seed 7', { timeout: 30_000 });
  await expect(other.getByRole('radio', { name: '3' })).toBeChecked();
  expect((await canvasPixels(other)).data).toEqual(old.data);
});

test('a link whose image was made on WebGPU, opened on WASM: a note says the pixels may differ', async ({ page }) => {
  const link = '?prompt=a+red+circle&seed=3&steps=2&model=flash&nc=1&bundle=tiny-bundle';
  await page.goto(`/${link}&made=webgpu`);
  const note = page.getByTestId('backend-note');
  await expect(note).toHaveText("This link's image was made with WebGPU; this one was made with WASM, so pixels may differ slightly.", { timeout: 30_000 });
  await expect(page).toHaveURL(/made=wasm/);
  // another image is not the link's: no note
  await setOptions(page, { seed: '4' });
  await generate(page);
  await expect(note).toHaveCount(0);

  await page.goto(`/${link}&made=wasm`);
  await expect(page.getByTestId('result-info')).toContainText('seed 3', { timeout: 30_000 });
  await expect(note).toHaveCount(0);
});

test('a browser that refuses storage: generation works, history stays for the page, said once', async ({ page }) => {
  await page.addInitScript(() => {
    Object.defineProperty(window, 'indexedDB', {
      get: () => {
        throw new DOMException('The operation is insecure.', 'SecurityError');
      },
    });
  });
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(e.message));
  await openApp(page);
  await setOptions(page, { seed: '1' });
  await generate(page);
  await setOptions(page, { seed: '2' });
  await generate(page);
  await expect(items(page)).toHaveCount(2);
  await expect(page.getByTestId('history-notice')).toHaveCount(1);
  await expect(page.getByTestId('history-notice')).toContainText('will be gone when the page closes');
  expect(errors).toEqual([]);
});
