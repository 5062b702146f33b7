/**
 * Our bundle layout with either model_index.json export has written: current optimum's (StableDiffusionPipeline, key
 * vae; models/shapescenes has it) and the older OnnxStableDiffusionPipeline one (key vae_decoder; tests/fixtures/
 * tiny-bundle has it). With its manifest the bundle opens the same under both; without one, the index alone opens
 * its teacher UNet. (No graphs are run here: one test file loading onnxruntime-node in vitest's threads is enough.)
 */
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { FileIo } from '../../src/pipeline/files';
import { openBundle } from '../../src/pipeline/openBundle';
import { BASE, FIXTURES, nodeIo } from './helpers/nodeIo';

const FOLDER = `${BASE}tiny-bundle/`;
const OLD_INDEX = JSON.parse(readFileSync(resolve(FIXTURES, 'tiny-bundle/model_index.json'), 'utf8')) as Record<string, unknown>;
const CURRENT_INDEX = JSON.parse(readFileSync(resolve(FIXTURES, '../../models/shapescenes/model_index.json'), 'utf8')) as Record<string, unknown>;

/** tiny-bundle with its model_index.json replaced, and manifest.json gone when `manifest` is false. */
function tinyBundle(index: Record<string, unknown>, manifest: boolean): FileIo {
  const io = nodeIo();
  const fetchFn = async (input: RequestInfo | URL, init?: RequestInit): Promise<Response> => {
    const url = String(input instanceof Request ? input.url : input);
    if (url.endsWith('/tiny-bundle/model_index.json')) return new Response(JSON.stringify(index), { status: 200 });
    if (!manifest && url.endsWith('/tiny-bundle/manifest.json')) return new Response('Not found', { status: 404 });
    return io.fetch(input, init);
  };
  return { ...io, fetch: fetchFn as typeof fetch };
}

describe("our bundle's model_index.json, either layout", () => {
  it('the fixtures hold both layouts', () => {
    expect([OLD_INDEX._class_name, 'vae_decoder' in OLD_INDEX, 'vae' in OLD_INDEX]).toEqual(['OnnxStableDiffusionPipeline', true, false]);
    expect([CURRENT_INDEX._class_name, 'vae_decoder' in CURRENT_INDEX, 'vae' in CURRENT_INDEX]).toEqual(['StableDiffusionPipeline', false, true]);
  });

  it('with its manifest, the bundle opens the same under either index', async () => {
    const current = await openBundle(tinyBundle(CURRENT_INDEX, true), FOLDER);
    expect(current).toEqual(await openBundle(tinyBundle(OLD_INDEX, true), FOLDER));
    expect(current.source).toBe('manifest');
  });

  it('without its manifest, either index opens the teacher UNet and the decoder in vae_decoder/', async () => {
    const current = await openBundle(tinyBundle(CURRENT_INDEX, false), FOLDER);
    const old = await openBundle(tinyBundle(OLD_INDEX, false), FOLDER);
    expect(current).toMatchObject({ source: 'diffusers', vaeDecoder: 'vae_decoder/model.onnx', imageSize: [64, 64], latentShape: [4, 16, 16], sdxl: null });
    expect(current.unets.find((u) => u.id === 'teacher')).toMatchObject({ path: 'unet/model.onnx' });
    expect(current).toEqual(old);
  });
});
