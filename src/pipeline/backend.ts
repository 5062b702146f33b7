/**
 * Which inference backend the page can use. WebGPU only with a hardware adapter: a software/fallback
 * adapter (SwiftShader) is slower than WASM. fp16 only where the adapter has `shader-f16`.
 * Minimal structural types: TypeScript's DOM lib has no WebGPU types.
 */

export interface GpuAdapterInfoLike {
  vendor?: string;
  architecture?: string;
  device?: string;
  description?: string;
  isFallbackAdapter?: boolean;
}

export interface GpuAdapterLike {
  readonly features: { has(name: string): boolean };
  readonly info?: GpuAdapterInfoLike;
  /** older Chrome: on the adapter; newer: on adapter.info */
  readonly isFallbackAdapter?: boolean;
}

export interface GpuLike {
  requestAdapter(options?: { powerPreference?: 'high-performance' | 'low-power' }): Promise<GpuAdapterLike | null>;
}

export type BackendInfo =
  | { kind: 'webgpu'; adapter: string; shaderF16: boolean }
  | { kind: 'wasm'; reason: string; threads: number };

/** WASM threads: more than one only when cross-origin isolated (SharedArrayBuffer); at most 4. */
export function wasmThreads(crossOriginIsolated: boolean, hardwareConcurrency: number | undefined): number {
  if (!crossOriginIsolated) return 1;
  const cores = hardwareConcurrency && hardwareConcurrency > 0 ? hardwareConcurrency : 1;
  return Math.max(1, Math.min(4, cores));
}

function adapterName(info: GpuAdapterInfoLike | undefined): string {
  const parts = [info?.vendor, info?.architecture, info?.device].filter((p): p is string => !!p);
  return parts.join(' ') || info?.description || 'unknown adapter';
}

export async function detectBackend(gpu: GpuLike | undefined, threads: number): Promise<BackendInfo> {
  if (!gpu) return { kind: 'wasm', reason: 'no WebGPU in this browser', threads };
  let adapter: GpuAdapterLike | null;
  try {
    adapter = await gpu.requestAdapter({ powerPreference: 'high-performance' });
  } catch (err) {
    return { kind: 'wasm', reason: `WebGPU adapter request failed: ${String(err)}`, threads };
  }
  if (!adapter) return { kind: 'wasm', reason: 'no WebGPU adapter', threads };
  if (adapter.info?.isFallbackAdapter ?? adapter.isFallbackAdapter) {
    return { kind: 'wasm', reason: 'WebGPU adapter is a software fallback', threads };
  }
  return { kind: 'webgpu', adapter: adapterName(adapter.info), shaderF16: adapter.features.has('shader-f16') };
}

export function describeBackend(b: BackendInfo): string {
  if (b.kind === 'webgpu') return `WebGPU (${b.adapter}${b.shaderF16 ? ', shader-f16' : ', fp32 only'})`;
  return `WASM (${b.threads} thread${b.threads === 1 ? '' : 's'}; ${b.reason})`;
}
