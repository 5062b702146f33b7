import { expect, test, type Page } from '@playwright/test';
import { canvasPixels, generate, openApp, seedBox, setOptions } from './helpers';

// The worker's own messages, recorded as the page receives them: whether a job really stopped (its result is
// "cancelled" and it sent no image) is the worker's doing, which the page's state alone cannot show.
interface Seen {
  id: number;
  type: string;
  request?: string;
  ok?: boolean;
  kind?: string;
}

async function recordWorkerEvents(page: Page): Promise<void> {
  await page.addInitScript(() => {
    const seen: unknown[] = [];
    Object.assign(window, { workerEvents: seen });
    const Native = window.Worker;
    window.Worker = class extends Native {
      constructor(url: string | URL, options?: WorkerOptions) {
        super(url, options);
        this.addEventListener('message', (e: MessageEvent<{ id: number; type: string; request?: string; ok?: boolean; error?: { kind: string } }>) => {
          const { id, type, request, ok, error } = e.data;
          seen.push({ id, type, request, ok, kind: error?.kind });
        });
      }
    };
  });
}

const workerEvents = (page: Page): Promise<Seen[]> => page.evaluate(() => (window as unknown as { workerEvents: Seen[] }).workerEvents);
const generateResults = async (page: Page): Promise<Seen[]> => (await workerEvents(page)).filter((e) => e.type === 'result' && e.request === 'generate');

test.beforeEach(async ({ page }) => {
  await recordWorkerEvents(page);
  await openApp(page);
  // a first teacher run loads its UNet: the runs below are pure computation, with no file read to pause on
  await setOptions(page, { model: 'Teacher', seed: '1' });
  await generate(page);
  await expect(page.getByTestId('history').locator('li')).toHaveCount(1);
});

test('Cancel at a step of the teacher stops the run: no image added or replaced, the status is not done', async ({ page }) => {
  const before = await canvasPixels(page);
  await setOptions(page, { seed: '2' });
  await page.getByRole('button', { name: 'Generate' }).click();
  const busy = page.getByTestId('busy');
  await expect(busy).toContainText(/Step \d+ of 25/);
  await busy.getByRole('button', { name: 'Cancel' }).click();
  await expect(busy).toHaveCount(0);

  // the worker ends the job as cancelled, without an image for it
  await expect.poll(async () => (await generateResults(page)).length).toBe(2);
  const results = await generateResults(page);
  const job = results[1] as Seen;
  expect(job).toMatchObject({ ok: false, kind: 'cancelled' });
  expect((await workerEvents(page)).filter((e) => e.id === job.id && e.type === 'image')).toEqual([]);

  await expect(page.locator('.frame')).not.toHaveAttribute('data-status', 'done');
  await expect(page.getByTestId('history').locator('li')).toHaveCount(1);
  await expect(page.getByTestId('result-info')).toContainText('seed 1');
  expect((await canvasPixels(page)).data).toEqual(before.data);
  await expect(page.getByRole('alert')).toHaveCount(0);
  // and the app goes on
  await generate(page);
  await expect(page.getByTestId('result-info')).toContainText('seed 2');
});

test('20 rapid Generate clicks: each newer request stops the running one; the last one makes the image', async ({ page }) => {
  const seed = await seedBox(page).elementHandle();
  const button = await page.getByRole('button', { name: 'Generate' }).elementHandle();
  await page.evaluate(async ([seed, button]) => {
    if (!(seed instanceof HTMLInputElement) || !(button instanceof HTMLButtonElement)) throw new Error('no seed box or Generate button');
    const setValue = Object.getOwnPropertyDescriptor(HTMLInputElement.prototype, 'value')?.set;
    for (let i = 10; i < 30; i++) {
      // a different request each time, as React sees typing
      setValue?.call(seed, String(i));
      seed.dispatchEvent(new Event('input', { bubbles: true }));
      button.click();
      await new Promise((r) => setTimeout(r, 0));
    }
  }, [seed, button] as const);
  await expect(seedBox(page)).toHaveValue('29');
  await expect.poll(async () => (await generateResults(page)).length, { timeout: 30_000 }).toBe(21);
  const images = (await workerEvents(page)).filter((e) => e.type === 'image');
  test.info().annotations.push({ type: 'rapid clicks', description: `${images.length - 1} of 20 clicks made an image` });
  expect(images.length - 1).toBeLessThanOrEqual(3);
  await expect(page.getByTestId('busy')).toHaveCount(0);
  await expect(page.getByTestId('result-info')).toContainText('seed 29');
  // an image the page received for a request already superseded is not kept
  const kept = await page.getByTestId('history').locator('li').count();
  expect(kept).toBeGreaterThanOrEqual(2);
  expect(kept).toBeLessThanOrEqual(images.length);
  await expect(page.getByRole('alert')).toHaveCount(0);
});
