import { readFileSync } from 'node:fs';
import { expect, type Page } from '@playwright/test';

/** Records every request the page (and its workers) makes. */
export function collectRequests(page: Page): string[] {
  const urls: string[] = [];
  page.on('request', (req) => urls.push(req.url()));
  return urls;
}

/** The app must never leave its own origin (no CDN, no model hub). */
export function expectSameOrigin(urls: string[], origin: string): void {
  expect(urls.length).toBeGreaterThan(0);
  const foreign = urls.filter((u) => !u.startsWith(`${origin}/`) && !u.startsWith('data:') && !u.startsWith('blob:'));
  expect(foreign).toEqual([]);
}

/** Opens the app (tests/fixtures served as /models/) and waits until the bundle's sessions are ready. */
export async function openApp(page: Page, query = ''): Promise<void> {
  await page.goto(`/${query}`);
  await expect(page.getByRole('button', { name: 'Generate' })).toBeEnabled({ timeout: 30_000 });
}

export async function setOptions(page: Page, o: { model?: 'Flash' | 'Teacher'; steps?: 1 | 2 | 3; seed?: string; prompt?: string; nc?: boolean }): Promise<void> {
  if (o.prompt !== undefined) await page.getByLabel('Prompt').fill(o.prompt);
  if (o.model) await page.getByRole('radiogroup', { name: 'Model' }).getByRole('radio', { name: o.model, exact: true }).check();
  if (o.steps) await page.getByRole('radiogroup', { name: 'Steps' }).getByRole('radio', { name: String(o.steps), exact: true }).check();
  if (o.seed !== undefined) await seedBox(page).fill(o.seed);
  if (o.nc !== undefined) await page.getByLabel('Noise correction').setChecked(o.nc);
}

export function seedBox(page: Page) {
  return page.getByRole('textbox', { name: 'Seed' });
}

/** Clicks Generate and waits for the run to end (an image or an error): the busy bar is removed (it is in the DOM
 * from the click on, but visible only after 150 ms, so its visibility cannot tell). */
export async function generate(page: Page): Promise<void> {
  await page.getByRole('button', { name: 'Generate' }).click();
  await expect(page.getByTestId('busy')).toHaveCount(0, { timeout: 30_000 });
}

/** RGBA bytes of a canvas at its native resolution. */
export async function canvasPixels(page: Page, testId = 'result'): Promise<{ width: number; height: number; data: number[] }> {
  return page.getByTestId(testId).evaluate((el) => {
    const c = el as HTMLCanvasElement;
    const d = c.getContext('2d')?.getImageData(0, 0, c.width, c.height);
    return { width: c.width, height: c.height, data: d ? Array.from(d.data) : [] };
  });
}

export interface ParityCase {
  bundle: string;
  prompt: string;
  seed: number;
  model: 'flash' | 'teacher';
  steps: 1 | 2 | 3;
  noise_correction: boolean;
  /** the VAE decoder: the bundle's own, or its tiny one (the Decoder setting's "Tiny") */
  decoder: 'full' | 'tiny';
  rgb_base64: string;
}

/** tests/web/python_parity.json: the same prompts and seeds through the Python side's pieces on onnxruntime. */
export function parityCases(): ParityCase[] {
  const json = JSON.parse(readFileSync(new URL('../web/python_parity.json', import.meta.url), 'utf8')) as { cases: ParityCase[] };
  return json.cases;
}

export function maxPixelDiff(rgba: number[], c: ParityCase): number {
  const rgb = Buffer.from(c.rgb_base64, 'base64');
  expect(rgba.length / 4).toBe(rgb.length / 3);
  let m = 0;
  for (let p = 0; p < rgb.length / 3; p++) {
    for (let k = 0; k < 3; k++) m = Math.max(m, Math.abs((rgba[p * 4 + k] as number) - (rgb[p * 3 + k] as number)));
  }
  return m;
}
