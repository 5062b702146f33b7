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
  /** `fallback`: a software adapter, used only when the user forces WebGPU */
  | { kind: 'webgpu'; adapter: string; shaderF16: boolean; fallback?: boolean }
  | { kind: 'wasm'; reason: string; threads: number };

/** 'auto' = the rule above; the others are the user forcing a backend. */
export type BackendPreference = 'auto' | 'webgpu' | 'wasm';

export const BACKEND_PREFERENCES: readonly BackendPreference[] = ['auto', 'webgpu', 'wasm'];

export function isBackendPreference(v: unknown): v is BackendPreference {
  return v === 'auto' || v === 'webgpu' || v === 'wasm';
}

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

async function requestAdapter(gpu: GpuLike): Promise<GpuAdapterLike | null | Error> {
  try {
    return await gpu.requestAdapter({ powerPreference: 'high-performance' });
  } catch (err) {
    return err instanceof Error ? err : new Error(String(err));
  }
}

function isFallback(adapter: GpuAdapterLike): boolean {
  return !!(adapter.info?.isFallbackAdapter ?? adapter.isFallbackAdapter);
}

export interface BackendChoice {
  info: BackendInfo;
  /** the adapter WebGPU runs on; null on WASM */
  adapter: GpuAdapterLike | null;
}

/**
 * The backend for a preference. 'auto': WebGPU on a hardware adapter, WASM otherwise (a software adapter
 * is slower than WASM). Forcing WebGPU accepts a software adapter (fp32 only: such adapters lack
 * shader-f16, and fp16 models return zeros on SwiftShader); forcing WASM skips the adapter request.
 */
export async function chooseBackend(gpu: GpuLike | undefined, threads: number, pref: BackendPreference = 'auto'): Promise<BackendChoice> {
  const wasm = (reason: string): BackendChoice => ({ info: { kind: 'wasm', reason, threads }, adapter: null });
  if (pref === 'wasm') return wasm('chosen in settings');
  if (!gpu) return wasm(pref === 'webgpu' ? 'WebGPU was requested but this browser has none' : 'no WebGPU in this browser');
  const adapter = await requestAdapter(gpu);
  if (adapter instanceof Error) return wasm(`WebGPU adapter request failed: ${String(adapter)}`);
  if (!adapter) return wasm(pref === 'webgpu' ? 'WebGPU was requested but no adapter is available' : 'no WebGPU adapter');
  const fallback = isFallback(adapter);
  if (fallback && pref === 'auto') return wasm('WebGPU adapter is a software fallback');
  const info: BackendInfo = {
    kind: 'webgpu',
    adapter: adapterName(adapter.info),
    shaderF16: !fallback && adapter.features.has('shader-f16'),
    ...(fallback ? { fallback: true } : {}),
  };
  return { info, adapter };
}

export async function detectBackend(gpu: GpuLike | undefined, threads: number): Promise<BackendInfo> {
  return (await chooseBackend(gpu, threads, 'auto')).info;
}

export function describeBackend(b: BackendInfo): string {
  if (b.kind === 'webgpu') {
    const extra = b.fallback ? ', software fallback adapter, fp32 only' : b.shaderF16 ? ', shader-f16' : ', fp32 only';
    return `WebGPU (${b.adapter}${extra})`;
  }
  return `WASM (${b.threads} thread${b.threads === 1 ? '' : 's'}; ${b.reason})`;
}
