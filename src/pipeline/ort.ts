/**
 * onnxruntime-web behind the Runtime interface, used from the inference worker only. Two builds of the same
 * package: the plain WASM build for WASM sessions, and the WebGPU-capable one (JSEP, which transformers.js is
 * built against: see "overrides" in package.json) only where a session runs on WebGPU, because the plain build
 * runs our UNet step ~5% faster (reports/BENCH_FIXES.md). Each build is a separate module with its own `env` and
 * `Tensor`, loaded on first use.
 */

import type * as OrtApi from 'onnxruntime-web';
import type { BackendInfo, GpuAdapterLike } from './backend';
import { configureOrtEnv } from './ortEnv';
import type { InputMeta, ModelSession, Runtime, TensorValue } from './runtime';

export interface RuntimeChoice {
  backend: BackendInfo;
  /** the adapter to run WebGPU on (the one the backend was chosen for) */
  adapter: GpuAdapterLike | null;
  wasmThreads: number;
  /** where ORT's wasm runtime lives; the app serves it at /ort/ (tests in Node point at node_modules) */
  wasmBase?: string;
  /** the onnxruntime-web build to use (default: loadOrt for the backend; tests in Node pass the Node build) */
  load?: () => Promise<Ort>;
}

export type Ort = typeof OrtApi;
type OrtTensor = OrtApi.Tensor;

const builds = new Map<BackendInfo['kind'], Promise<Ort>>();

/** The onnxruntime-web build for a backend, imported once. */
export function loadOrt(kind: BackendInfo['kind']): Promise<Ort> {
  let build = builds.get(kind);
  if (!build) {
    build = kind === 'webgpu' ? import('onnxruntime-web') : (import('onnxruntime-web/wasm') as Promise<Ort>);
    builds.set(kind, build);
  }
  return build;
}

/** Device losses of the WebGPU build: a lost WebGPU device stays lost for the page's lifetime. */
let gpuLost: Promise<string> | null = null;

function parseMeta(raw: unknown, names: readonly string[]): InputMeta[] {
  const list = Array.isArray(raw) ? raw : [];
  return names.map((name, i) => {
    const m: unknown = list[i];
    if (typeof m !== 'object' || m === null) return { name, type: 'unknown', shape: null };
    const rec = m as { type?: unknown; shape?: unknown };
    const shape = Array.isArray(rec.shape) ? rec.shape.filter((d): d is number | string => typeof d === 'number' || typeof d === 'string') : null;
    return { name, type: typeof rec.type === 'string' ? rec.type : 'unknown', shape };
  });
}

function toOrt(ort: Ort, v: TensorValue): OrtTensor {
  switch (v.type) {
    case 'float32':
      return new ort.Tensor('float32', v.data, v.dims);
    case 'float16':
      return new ort.Tensor('float16', v.data, v.dims);
    case 'int64':
      return new ort.Tensor('int64', v.data, v.dims);
    case 'int32':
      return new ort.Tensor('int32', v.data, v.dims);
    default: {
      const never: never = v;
      throw new Error(`unsupported tensor ${JSON.stringify(never)}`);
    }
  }
}

function fromOrt(name: string, t: OrtTensor): TensorValue {
  const dims = [...t.dims];
  const data: unknown = t.data;
  if (t.type === 'float32' && data instanceof Float32Array) return { type: 'float32', data, dims };
  if (t.type === 'float16' && data instanceof Uint16Array) return { type: 'float16', data, dims };
  if (t.type === 'int64' && data instanceof BigInt64Array) return { type: 'int64', data, dims };
  if (t.type === 'int32' && data instanceof Int32Array) return { type: 'int32', data, dims };
  throw new Error(`output ${name} has unsupported type ${t.type}`);
}

class OrtSession implements ModelSession {
  readonly inputs: InputMeta[];
  readonly outputs: InputMeta[];

  constructor(
    readonly file: string,
    private readonly ort: Ort,
    private readonly session: OrtApi.InferenceSession,
  ) {
    // inputMetadata exists at runtime in onnxruntime-web 1.22 but is not in its typings yet.
    const meta = session as unknown as { inputMetadata?: unknown; outputMetadata?: unknown };
    this.inputs = parseMeta(meta.inputMetadata, session.inputNames);
    this.outputs = parseMeta(meta.outputMetadata, session.outputNames);
  }

  async run(feeds: Record<string, TensorValue>): Promise<Record<string, TensorValue>> {
    const input: Record<string, OrtTensor> = {};
    for (const [k, v] of Object.entries(feeds)) input[k] = toOrt(this.ort, v);
    const out = await this.session.run(input);
    const result: Record<string, TensorValue> = {};
    for (const [k, v] of Object.entries(out)) {
      result[k] = fromOrt(k, v as OrtTensor);
      (v as OrtTensor).dispose();
    }
    return result;
  }

  release(): Promise<void> {
    return this.session.release();
  }
}

export function createOrtRuntime(choice: RuntimeChoice): Runtime {
  const useGpu = choice.backend.kind === 'webgpu';
  // the build, configured before its first session
  const ready = (choice.load ?? (() => loadOrt(choice.backend.kind)))().then((ort) => {
    configureOrtEnv(ort.env, choice.wasmThreads, choice.wasmBase);
    if (useGpu && choice.adapter) {
      try {
        ort.env.webgpu.adapter = choice.adapter as unknown as typeof ort.env.webgpu.adapter;
      } catch {
        // already initialised with an adapter (a second load in the same worker): ORT keeps its own
      }
    }
    return ort;
  });
  let watching = false;
  let signalLost: (reason: string) => void = () => undefined;
  // Never settles on WASM.
  const lost = new Promise<string>((resolve) => {
    if (useGpu) signalLost = resolve;
  });

  const watchDevice = (ort: Ort): void => {
    if (watching) return;
    watching = true;
    // After ORT's WebGPU init, env.webgpu.device is the GPUDevice itself, before it a promise of one.
    gpuLost ??= Promise.resolve(ort.env.webgpu.device).then((device) => {
      const d = device as unknown as { lost: Promise<{ message: string; reason?: string }> };
      return d.lost.then((info) => `WebGPU device lost (${info.reason ?? 'unknown'}${info.message ? `: ${info.message}` : ''})`);
    });
    gpuLost.then(signalLost, () => undefined);
  };

  return {
    backend: choice.backend,
    lost,
    async createSession(bytes, file, externalData = []) {
      const ort = await ready;
      const session = await ort.InferenceSession.create(bytes, {
        ...(externalData.length > 0 ? { externalData: externalData.map((d) => ({ path: d.path, data: d.data })) } : {}),
        // NCHW: with onnxruntime-web 1.22's default NHWC layout for WebGPU, our diffusers UNet's output is
        // wrong (max |Δ| 0.37 on outputs of magnitude 1.3 vs WASM, on SwiftShader); NCHW matches to 2e-5.
        executionProviders: [useGpu ? { name: 'webgpu', preferredLayout: 'NCHW' } : 'wasm'],
        graphOptimizationLevel: 'all',
      });
      if (useGpu) watchDevice(ort);
      return new OrtSession(file, ort, session);
    },
  };
}
