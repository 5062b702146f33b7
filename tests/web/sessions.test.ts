import { describe, expect, it } from 'vitest';
import type { BackendInfo } from '../../src/pipeline/backend';
import { ModelError } from '../../src/pipeline/errors';
import type { ModelSession, Runtime } from '../../src/pipeline/runtime';
import { SessionCache } from '../../src/pipeline/sessions';

/** A runtime whose first `failures` creations reject; counts creations and releases. */
function fakeRuntime(kind: 'wasm' | 'webgpu', failures = 0): Runtime & { created: number; released: number } {
  const backend: BackendInfo = kind === 'wasm' ? { kind, reason: 'tests', threads: 1 } : { kind, adapter: 'test', shaderF16: false };
  const rt = {
    backend,
    lost: new Promise<string>(() => undefined),
    created: 0,
    released: 0,
    async createSession(_bytes: Uint8Array, file: string): Promise<ModelSession> {
      rt.created++;
      if (rt.created <= failures) throw new Error('unsupported op');
      return { file, inputs: [], outputs: [], run: async () => ({}), release: async () => void rt.released++ };
    },
  };
  return rt;
}

const BYTES = new Uint8Array([1]);

describe('SessionCache', () => {
  it('shares one creation between two loads of a graph', async () => {
    const rt = fakeRuntime('wasm');
    const cache = new SessionCache(rt);
    const [a, b] = await Promise.all([cache.create('unet/model.onnx', BYTES, []), cache.create('unet/model.onnx', BYTES, [])]);
    expect(a).toBe(b);
    expect(rt.created).toBe(1);
    expect(await cache.loaded('unet/model.onnx')).toBe(a);
  });

  it('names the file and the backend when a creation fails, and forgets it so the next load tries again', async () => {
    const rt = fakeRuntime('webgpu', 1);
    const cache = new SessionCache(rt);
    const err = await cache.create('unet/model.onnx', BYTES, []).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ModelError);
    expect((err as Error).message).toBe('unet/model.onnx: onnxruntime-web could not load it on WEBGPU (unsupported op)');
    expect(cache.has('unet/model.onnx')).toBe(false);
    await cache.create('unet/model.onnx', BYTES, []);
    expect(rt.created).toBe(2);
  });

  it('asking for a graph that was never loaded is an internal error naming it', () => {
    expect(() => new SessionCache(fakeRuntime('wasm')).loaded('vae_decoder/model.onnx')).toThrow('internal: vae_decoder/model.onnx was not read');
  });

  it('switchRuntime releases every session and creates the next ones on the new runtime', async () => {
    const gpu = fakeRuntime('webgpu');
    const cache = new SessionCache(gpu);
    await cache.create('a.onnx', BYTES, []);
    await cache.create('b.onnx', BYTES, []);
    const wasm = fakeRuntime('wasm');
    await cache.switchRuntime(wasm);
    expect(gpu.released).toBe(2);
    expect(cache.has('a.onnx')).toBe(false);
    expect(cache.backend.kind).toBe('wasm');
    await cache.create('a.onnx', BYTES, []);
    expect([gpu.created, wasm.created]).toEqual([2, 1]);
  });
});
