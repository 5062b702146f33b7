import { describe, expect, it } from 'vitest';
import { describeBackend, detectBackend, wasmThreads, type GpuAdapterLike, type GpuLike } from '../../src/pipeline/backend';

const gpuWith = (adapter: GpuAdapterLike | null): GpuLike => ({ requestAdapter: async () => adapter });
const features = (...names: string[]) => new Set(names);

describe('detectBackend', () => {
  it('falls back to WASM without navigator.gpu or without an adapter', async () => {
    expect(await detectBackend(undefined, 1)).toMatchObject({ kind: 'wasm', reason: 'no WebGPU in this browser' });
    expect(await detectBackend(gpuWith(null), 2)).toMatchObject({ kind: 'wasm', threads: 2 });
    const failing: GpuLike = { requestAdapter: () => Promise.reject(new Error('boom')) };
    expect(await detectBackend(failing, 1)).toMatchObject({ kind: 'wasm', reason: expect.stringMatching(/boom/) });
  });

  it('treats a software fallback adapter (SwiftShader) as WASM, old and new Chrome', async () => {
    const newStyle = { features: features(), info: { vendor: 'google', isFallbackAdapter: true } };
    const oldStyle = { features: features(), isFallbackAdapter: true };
    for (const adapter of [newStyle, oldStyle]) {
      expect(await detectBackend(gpuWith(adapter), 2)).toMatchObject({ kind: 'wasm', reason: expect.stringMatching(/fallback/) });
    }
  });

  it('uses WebGPU with a hardware adapter and reports shader-f16', async () => {
    const adapter = { features: features('shader-f16'), info: { vendor: 'nvidia', architecture: 'ampere', isFallbackAdapter: false } };
    const b = await detectBackend(gpuWith(adapter), 2);
    expect(b).toEqual({ kind: 'webgpu', adapter: 'nvidia ampere', shaderF16: true });
    expect(describeBackend(b)).toBe('WebGPU (nvidia ampere, shader-f16)');
  });

  it('uses 1 WASM thread unless cross-origin isolated, at most 4', () => {
    expect(wasmThreads(false, 16)).toBe(1);
    expect(wasmThreads(true, 2)).toBe(2);
    expect(wasmThreads(true, 16)).toBe(4);
    expect(wasmThreads(true, undefined)).toBe(1);
    expect(describeBackend({ kind: 'wasm', reason: 'no WebGPU adapter', threads: 2 })).toMatch(/^WASM \(2 threads/);
  });
});

describe('configureOrtEnv', () => {
  it('points onnxruntime-web at our own /ort/ folder, overriding a CDN default', async () => {
    const { configureOrtEnv } = await import('../../src/pipeline/ortEnv');
    const env = { wasm: { wasmPaths: 'https://cdn.example/dist/', numThreads: 1, proxy: true } };
    configureOrtEnv(env, 2);
    expect(env.wasm).toEqual({ wasmPaths: '/ort/', numThreads: 2, proxy: false });
  });
});
