/**
 * Batch scaling of the bundle's flash-1 graphs in the browser: text encoder + one UNet call + VAE decode at
 * batch 1, 2, 4 and 8 on onnxruntime-web's WASM backend (the build and thread count the app uses), on a bare
 * page served with the same cross-origin isolation. The app generates one image per request, so this is what
 * batching could gain in the browser, beside the app's own sequential throughput.
 */

import { readFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import { extname, join, resolve } from 'node:path';
import type { Browser } from '@playwright/test';

export interface BrowserBatch {
  batch: number;
  msPerBatch: number;
  imagesPerSecond: number;
}

const ORT_DIST = resolve('node_modules/onnxruntime-web/dist');
const TYPES: Record<string, string> = { '.mjs': 'text/javascript', '.wasm': 'application/wasm', '.onnx': 'application/octet-stream', '.html': 'text/html' };

// Runs in the page: no imports from this file reach it, only the function's source.
async function measure(files: { text: string; unet: string; vae: string }, latent: number[], threads: number, batches: number[], rounds: number): Promise<BrowserBatch[]> {
  type Ort = typeof import('onnxruntime-web');
  const ort = (await import(/* @vite-ignore */ '/ort/ort.bundle.min.mjs' as string)) as Ort;
  ort.env.wasm.wasmPaths = '/ort/';
  ort.env.wasm.numThreads = threads;
  const open = async (f: string) => ort.InferenceSession.create(new Uint8Array(await (await fetch(`/m/${f}`)).arrayBuffer()), { executionProviders: ['wasm'], graphOptimizationLevel: 'all' });
  const [text, unet, vae] = [await open(files.text), await open(files.unet), await open(files.vae)];
  const floats = (n: number) => Float32Array.from({ length: n }, (_, i) => Math.sin(i * 12.9898) * 0.8);
  const runs = new Map<number, () => Promise<number>>();
  for (const b of batches) {
    const ids = new ort.Tensor('int64', BigInt64Array.from({ length: b * 77 }, (_, i) => BigInt(i % 77 < 8 ? 1 + (i % 77) : 0)), [b, 77]);
    runs.set(b, async (): Promise<number> => {
      const t0 = performance.now();
      const h = (await text.run({ [text.inputNames[0] as string]: ids }))[text.outputNames[0] as string] as InstanceType<Ort['Tensor']>;
      const eps = await unet.run({
        sample: new ort.Tensor('float32', floats(b * latent.reduce((p, q) => p * q, 1)), [b, ...latent]),
        timestep: new ort.Tensor('float32', new Float32Array(b).fill(999), [b]),
        encoder_hidden_states: new ort.Tensor('float32', h.data as Float32Array, h.dims as number[]),
      });
      const x = eps[unet.outputNames[0] as string] as InstanceType<Ort['Tensor']>;
      await vae.run({ [vae.inputNames[0] as string]: new ort.Tensor('float32', x.data as Float32Array, x.dims as number[]) });
      return performance.now() - t0;
    });
  }
  // the first runs at a new shape plan kernels; then rounds over every batch size, so drift hits all alike
  for (const once of runs.values()) for (let i = 0; i < 3; i++) await once();
  const ms = new Map<number, number[]>(batches.map((b) => [b, []]));
  for (let i = 0; i < rounds; i++) for (const [b, once] of runs) ms.get(b)?.push(await once());
  const out: BrowserBatch[] = [];
  for (const [b, xs] of ms) {
    xs.sort((p, q) => p - q);
    const median = xs[xs.length >> 1] as number;
    out.push({ batch: b, msPerBatch: median, imagesPerSecond: (1000 * b) / median });
  }
  return out;
}

function serve(bundleDir: string, port: number): Promise<Server> {
  const server = createServer((req, res) => {
    const url = (req.url ?? '/').split('?')[0] as string;
    const [dir, rel] = url.startsWith('/ort/') ? [ORT_DIST, url.slice(5)] : url.startsWith('/m/') ? [bundleDir, url.slice(3)] : [null, ''];
    const send = (status: number, body: Buffer | string, type = 'text/html'): void => {
      res.writeHead(status, { 'Content-Type': type, 'Cross-Origin-Opener-Policy': 'same-origin', 'Cross-Origin-Embedder-Policy': 'require-corp' });
      res.end(body);
    };
    if (url === '/') return send(200, '<!doctype html><title>batch</title>');
    if (!dir || rel.split('/').includes('..')) return send(404, 'not found');
    readFile(join(dir, rel)).then((b) => send(200, b, TYPES[extname(rel)] ?? 'application/octet-stream'), () => send(404, 'not found'));
  });
  return new Promise((ok) => server.listen(port, '127.0.0.1', () => ok(server)));
}

/** flash-1's images/s at each batch size (latentShape: the manifest's [C, H, W]). */
export async function browserBatchScaling(browser: Browser, bundleDir: string, unetPath: string, latentShape: number[], threads: number, rounds: number, port = 4199): Promise<BrowserBatch[]> {
  const server = await serve(bundleDir, port);
  try {
    const page = await browser.newPage();
    await page.goto(`http://127.0.0.1:${port}/`);
    const files = { text: 'text_encoder/model.onnx', unet: unetPath, vae: 'vae_decoder/model.onnx' };
    return await page.evaluate(`(${measure.toString()})(${JSON.stringify(files)}, ${JSON.stringify(latentShape)}, ${threads}, [1, 2, 4, 8], ${rounds})`);
  } finally {
    server.close();
  }
}
