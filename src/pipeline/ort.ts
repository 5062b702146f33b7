/**
 * The one onnxruntime-web instance of the app (transformers.js is built against the same package, see the
 * "overrides" in package.json), behind the Runtime interface. Used from the inference worker only.
 */

import * as ort from 'onnxruntime-web';
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
}

/** Device losses of this ORT instance: a lost WebGPU device stays lost for the page's lifetime. */
let gpuLost: Promise<string> | null = null;

export function ortEnv(): typeof ort.env {
  return ort.env;
}

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

function toOrt(v: TensorValue): ort.Tensor {
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

function fromOrt(name: string, t: ort.Tensor): TensorValue {
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
    private readonly session: ort.InferenceSession,
  ) {
    // inputMetadata exists at runtime in onnxruntime-web 1.22 but is not in its typings yet.
    const meta = session as unknown as { inputMetadata?: unknown; outputMetadata?: unknown };
    this.inputs = parseMeta(meta.inputMetadata, session.inputNames);
    this.outputs = parseMeta(meta.outputMetadata, session.outputNames);
  }

  async run(feeds: Record<string, TensorValue>): Promise<Record<string, TensorValue>> {
    const input: Record<string, ort.Tensor> = {};
    for (const [k, v] of Object.entries(feeds)) input[k] = toOrt(v);
    const out = await this.session.run(input);
    const result: Record<string, TensorValue> = {};
    for (const [k, v] of Object.entries(out)) {
      result[k] = fromOrt(k, v as ort.Tensor);
      (v as ort.Tensor).dispose();
    }
    return result;
  }

  release(): Promise<void> {
    return this.session.release();
  }
}

export function createOrtRuntime(choice: RuntimeChoice): Runtime {
  configureOrtEnv(ort.env, choice.wasmThreads, choice.wasmBase);
  const useGpu = choice.backend.kind === 'webgpu';
  if (useGpu && choice.adapter) {
    try {
      ort.env.webgpu.adapter = choice.adapter as unknown as typeof ort.env.webgpu.adapter;
    } catch {
      // already initialised with an adapter (a second load in the same worker): ORT keeps its own
    }
  }
  let watching = false;
  let signalLost: (reason: string) => void = () => undefined;
  // Never settles on WASM.
  const lost = new Promise<string>((resolve) => {
    if (useGpu) signalLost = resolve;
  });

  const watchDevice = (): void => {
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
      const session = await ort.InferenceSession.create(bytes, {
        ...(externalData.length > 0 ? { externalData: externalData.map((d) => ({ path: d.path, data: d.data })) } : {}),
        // NCHW: with onnxruntime-web 1.22's default NHWC layout for WebGPU, our diffusers UNet's output is
        // wrong (max |Δ| 0.37 on outputs of magnitude 1.3 vs WASM, on SwiftShader); NCHW matches to 2e-5.
        executionProviders: [useGpu ? { name: 'webgpu', preferredLayout: 'NCHW' } : 'wasm'],
        graphOptimizationLevel: 'all',
      });
      if (useGpu) watchDevice();
      return new OrtSession(file, session);
    },
  };
}
