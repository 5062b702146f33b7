import { readFileSync } from 'node:fs';
import { expect, test, type Page } from '@playwright/test';
import { readPng } from '../web/helpers/png';
import { canvasPixels, generate, openApp, setOptions } from './helpers';

// Folders written by optimum's own exporter (tests/fixtures/optimum, served as /models/optimum/), opened as a user
// opens an export of their own: by name in "Model and settings", with the guidance of the fixtures' recipe. WASM
// (plain headless chromium has no WebGPU adapter, so no shader-f16 either).

const FIXTURES = new URL('../fixtures/optimum/', import.meta.url);
interface Fixture {
  image_size: [number, number];
  exercises: { fp16_outputs: string[] };
  reference: { recipe: { prompt: string; seed: number; num_inference_steps: number; guidance_scale: number } };
}
const index = JSON.parse(readFileSync(new URL('index.json', FIXTURES), 'utf8')) as { fixtures: Record<string, Fixture> };

async function openFolder(page: Page, folder: string, guidance = ''): Promise<void> {
  await openApp(page);
  await page.getByText('Model and settings').click();
  await page.getByLabel('Open a folder under /models/').fill(folder);
  await page.getByLabel('Guidance (CFG)').fill(guidance);
  await page.getByRole('button', { name: 'Open', exact: true }).click();
}

/** Max |Δ| over RGB between the canvas and a reference PNG beside the fixture. */
function maxDiff(rgba: number[], png: string): number {
  const { rgb } = readPng(new URL(png, FIXTURES).pathname);
  expect(rgba.length / 4).toBe(rgb.length / 3);
  let m = 0;
  for (let p = 0; p < rgb.length / 3; p++) {
    for (let k = 0; k < 3; k++) m = Math.max(m, Math.abs((rgba[p * 4 + k] as number) - (rgb[p * 3 + k] as number)));
  }
  return m;
}

test.describe('opening an optimum export and generating its recipe (≤ 2/255 of the Python onnxruntime reference)', () => {
  for (const [name, fx] of Object.entries(index.fixtures).filter(([, f]) => f.exercises.fp16_outputs.length === 0)) {
    test(name, async ({ page }) => {
      const { prompt, seed, num_inference_steps: steps, guidance_scale: g } = fx.reference.recipe;
      expect(steps).toBe(2);
      await openFolder(page, `optimum/${name}`, String(g));
      const [h, w] = fx.image_size;
      await expect(page.getByTestId('model')).toContainText(`Model: ${name} · ${w}×${h} · unverified (no hashes)`, { timeout: 30_000 });
      await setOptions(page, { prompt, seed: String(seed), model: 'Flash', steps: 2, nc: false });
      await generate(page);
      await expect(page.getByTestId('result-info')).toContainText(`Flash, 2 steps (DDIM, CFG ${g})`);
      const px = await canvasPixels(page);
      expect([px.width, px.height]).toEqual([w, h]);
      // our DDIM ends on the last step's x̂0: reference_x0.png (for SDXL's Euler the same image as reference.png)
      const diff = maxDiff(px.data, `${name}/reference_x0.png`);
      test.info().annotations.push({ type: 'parity', description: `${name}: max |Δpixel| ${diff}/255` });
      console.info(`${name}: max |Δpixel| ${diff}/255`);
      expect(diff).toBeLessThanOrEqual(2);
    });
  }
});

test.describe('refused when it opens, naming the file and the input; no Generate that would fail', () => {
  const refused = async (page: Page, folder: string, message: string): Promise<void> => {
    await expect(page.getByTestId('model')).toContainText(`Could not load ${folder}: ${message}`, { timeout: 30_000 });
    await expect(page.getByRole('button', { name: 'Generate' })).toBeDisabled();
  };

  test('an fp16 export without WebGPU shader-f16: its float16 text encoder outputs are named', async ({ page }) => {
    await openFolder(page, 'optimum/sd15-fp16');
    await refused(
      page,
      'optimum/sd15-fp16',
      'text_encoder/model.onnx: computes in float16, which needs WebGPU with shader-f16; this browser runs it in fp32 only (float16: output "last_hidden_state", output "pooler_output")',
    );
  });

  test('an SDXL UNet whose index says SD 1.x, and a tokenizer without its vocabulary', async ({ page }) => {
    const sd1Index = { _class_name: 'StableDiffusionPipeline', text_encoder: ['t', 'x'], tokenizer: ['t', 'x'], unet: ['d', 'x'], scheduler: ['d', 'x'], vae: ['d', 'x'] };
    await page.route('**/models/optimum/sdxl-fp32/model_index.json', (route) => route.fulfill({ status: 200, contentType: 'application/json', body: JSON.stringify(sd1Index) }));
    await page.route('**/models/optimum/sd15-fp32/tokenizer/vocab.json', (route) => route.fulfill({ status: 404, body: 'Not found' }));
    await openFolder(page, 'optimum/sdxl-fp32');
    await refused(page, 'optimum/sdxl-fp32', 'unet/model.onnx: takes "text_embeds" and "time_ids" (an SDXL UNet), but the folder has no text_encoder_2 and tokenizer_2 to make them');
    await page.getByLabel('Open a folder under /models/').fill('optimum/sd15-fp32');
    await page.getByRole('button', { name: 'Open', exact: true }).click();
    await refused(page, 'optimum/sd15-fp32', 'tokenizer/vocab.json: is missing (HTTP 404): tokenizer/ has neither tokenizer.json nor vocab.json with merges.txt');
  });
});
