import { expect, test, type Page } from '@playwright/test';
import { canvasPixels, generate, maxPixelDiff, openApp, parityCases, seedBox, setOptions } from './helpers';

// Live mode and the seed grid on tiny-bundle (ShapeScenes grammar), WASM: live mode is on by default there.

interface Sent {
  id: number;
  type: string;
  prompt?: string;
  variants?: { steps: number; decoder?: string }[];
  seeds?: number[];
}
interface Got {
  id: number;
  type: string;
}

/** Records what the page sends the worker and the images it gets back. */
async function recordWorker(page: Page): Promise<void> {
  await page.addInitScript(() => {
    const sent: unknown[] = [];
    const got: unknown[] = [];
    Object.assign(window, { workerLog: { sent, got } });
    type Post = (this: Worker, message: unknown, transfer?: unknown) => void;
    const proto = Worker.prototype as unknown as { postMessage: Post };
    const post = proto.postMessage;
    proto.postMessage = function (message, transfer) {
      const m = message as { id: number; type: string; prompt?: string; variants?: unknown; seeds?: unknown };
      sent.push({ id: m.id, type: m.type, prompt: m.prompt, variants: m.variants, seeds: m.seeds });
      post.call(this, message, transfer);
    };
    const Native = window.Worker;
    window.Worker = class extends Native {
      constructor(url: string | URL, options?: WorkerOptions) {
        super(url, options);
        this.addEventListener('message', (e: MessageEvent<{ id: number; type: string }>) => got.push({ id: e.data.id, type: e.data.type }));
      }
    };
  });
}

const log = (page: Page) => page.evaluate(() => (window as unknown as { workerLog: { sent: Sent[]; got: Got[] } }).workerLog);
const generates = async (page: Page): Promise<Sent[]> => (await log(page)).sent.filter((m) => m.type === 'generate');
/** The prompts whose jobs sent an image back. */
async function imagesFor(page: Page): Promise<string[]> {
  const { sent, got } = await log(page);
  return got.filter((e) => e.type === 'image').map((e) => sent.find((m) => m.id === e.id)?.prompt ?? '?');
}

const FINAL = 'a red circle above a blue star';
/** the prompts on the way to FINAL that the model reads; every other prefix must make no image */
const WHOLE = ['a red circle', FINAL];

test('typing with a pause per key draws one image, of the final text; an unfinished prompt gets its hint, not an image', async ({ page }) => {
  await recordWorker(page);
  await openApp(page);
  await page.getByText('Model and settings').click();
  await expect(page.getByRole('checkbox', { name: 'Live while typing' })).toBeChecked();
  const prompt = page.getByLabel('Prompt', { exact: true });
  await prompt.fill('');
  await prompt.focus();
  await page.keyboard.type(FINAL, { delay: 120 });
  const info = page.getByTestId('result-info');
  await expect(info).toHaveText(`Flash, 1 step (DDIM) · “${FINAL}” · seed 0 · WASM`);
  await page.waitForTimeout(600);
  expect((await generates(page)).every((m) => WHOLE.includes(m.prompt ?? '') && m.variants?.[0]?.steps === 1)).toBe(true);
  expect((await imagesFor(page)).filter((p) => p === FINAL)).toHaveLength(1);
  await expect(page.getByTestId('live-note')).toHaveCount(0);
  // the user stayed on it: it joins the history, once
  await expect(page.getByTestId('history').locator('li')).toHaveCount(1, { timeout: 5_000 });
  const kept = await canvasPixels(page);

  const before = (await generates(page)).length;
  await prompt.fill('');
  await page.keyboard.type('two green', { delay: 120 });
  await expect(page.getByTestId('live-note')).toContainText('but the prompt ends there');
  await page.waitForTimeout(500);
  expect((await generates(page)).slice(before).map((m) => m.prompt)).toEqual([]);
  // the last good image stays, without an error
  await expect(info).toContainText(`“${FINAL}”`);
  expect((await canvasPixels(page)).data).toEqual(kept.data);
  await expect(page.getByRole('alert')).toHaveCount(0);

  await page.keyboard.type(' stars', { delay: 120 });
  await expect(info).toContainText('“two green stars”');
  await expect(page.getByTestId('live-note')).toHaveCount(0);
  // Generate still runs the chosen steps
  await setOptions(page, { steps: 3 });
  await generate(page);
  await expect(info).toContainText('Flash, 3 steps (DDIM, noise correction) · “two green stars”');
});

test('seed grid: four tiles labelled with their seeds in one batched run; a click makes one the main image and sets the seed', async ({ page }) => {
  await recordWorker(page);
  await openApp(page, '?live=0');
  await setOptions(page, { prompt: 'two green stars', seed: '7', steps: 2 });
  await page.getByRole('button', { name: 'Seed grid' }).click();
  const grid = page.getByRole('region', { name: 'Seed grid' });
  await expect(grid.locator('canvas')).toHaveCount(4, { timeout: 30_000 });
  await expect(grid.locator('li > span')).toHaveText(['seed 7', 'seed 8', 'seed 9', 'seed 10']);
  await expect(page.getByTestId('grid-status')).toContainText('4 seeds in one batched run');
  expect((await log(page)).sent.filter((m) => m.type === 'grid').map((m) => m.seeds)).toEqual([[7, 8, 9, 10]]);
  const pixels = await grid.getByTestId('grid-2').locator('canvas').evaluate((el) => {
    const c = el as HTMLCanvasElement;
    return Array.from(c.getContext('2d')?.getImageData(0, 0, c.width, c.height).data ?? []);
  });
  expect(pixels.length).toBeGreaterThan(0);
  await grid.getByTestId('grid-2').getByRole('button').click();
  await expect(grid).toHaveCount(0);
  await expect(page.getByTestId('result-info')).toContainText('“two green stars” · seed 9');
  await expect(seedBox(page)).toHaveValue('9');
  expect((await canvasPixels(page)).data).toEqual(pixels);
  await expect(page.getByTestId('history').locator('li')).toHaveCount(1);
});

test('tiny decoder: live mode previews with it; the Decoder setting switches Generate between the full and the tiny one (same pixels as Python)', async ({ page }) => {
  await recordWorker(page);
  await openApp(page);
  await page.getByText('Model and settings').click();
  const decoder = page.getByRole('radiogroup', { name: 'Decoder' });
  await expect(decoder.getByRole('radio', { name: 'Full', exact: true })).toBeChecked();
  const prompt = page.getByLabel('Prompt', { exact: true });
  await prompt.fill('');
  await prompt.focus();
  await page.keyboard.type('two green stars', { delay: 120 });
  const info = page.getByTestId('result-info');
  await expect(info).toContainText('“two green stars”');
  const decodeRow = page.getByTestId('timings').locator('tr.decode th');
  await expect(decodeRow).toHaveText('decode (tiny)');
  expect((await generates(page)).map((m) => m.variants?.[0]?.decoder)).toEqual(['tiny']);

  const c = parityCases().find((p) => p.decoder === 'tiny');
  if (!c) throw new Error('no tiny-decoder parity case in python_parity.json');
  await setOptions(page, { prompt: c.prompt, seed: String(c.seed), steps: c.steps, nc: c.noise_correction });
  await generate(page);
  await expect(info).toContainText(`“${c.prompt}” · seed ${c.seed}`);
  await expect(decodeRow).toHaveText('decode');
  const full = await canvasPixels(page);
  await decoder.getByRole('radio', { name: 'Tiny (fast preview)' }).check();
  await generate(page);
  await expect(decodeRow).toHaveText('decode (tiny)');
  const tiny = await canvasPixels(page);
  expect(maxPixelDiff(tiny.data, c)).toBeLessThanOrEqual(2);
  expect(maxPixelDiff(full.data, c)).toBeGreaterThan(2);
  const chosen = (await generates(page)).filter((m) => m.prompt === c.prompt && m.variants?.[0]?.steps === c.steps);
  expect(chosen.slice(-2).map((m) => m.variants?.[0]?.decoder)).toEqual([undefined, 'tiny']);
});

test('a bundle without a tiny decoder offers no Decoder setting', async ({ page }) => {
  await openApp(page, '?bundle=tiny-sd');
  await page.getByText('Model and settings').click();
  await expect(page.getByRole('radiogroup', { name: 'Backend' })).toBeVisible();
  await expect(page.getByRole('radiogroup', { name: 'Decoder' })).toHaveCount(0);
});
