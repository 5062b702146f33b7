/**
 * The HostEngine the worker runs: one Pipeline at a time on one onnxruntime-web instance. A lost WebGPU
 * device (or a WebGPU run that fails) moves the pipeline to WASM and the request is retried once there;
 * the page is told through onBackend.
 */

import { env as transformersEnv } from '@huggingface/transformers';
import { chooseBackend, wasmThreads, type BackendInfo, type BackendPreference, type GpuLike } from '../pipeline/backend';
import { InputError, isAbortError, VocabularyError } from '../pipeline/errors';
import { browserFileIo, BundleFileError, pruneCache, type FileIo } from '../pipeline/files';
import { BundleFormatError } from '../pipeline/bundle';
import { openBundle } from '../pipeline/openBundle';
import { createOrtRuntime, loadOrt } from '../pipeline/ort';
import { ORT_WASM_BASE } from '../pipeline/ortEnv';
import { Pipeline, type GenerateOutput, type GenerateParams, type GridOutput } from '../pipeline/pipeline';
import type { OpenOptions } from '../pipeline/sdFolder';
import type { Runtime } from '../pipeline/runtime';
import { availableChoice } from '../pipeline/variants';
import { toWorkerError, type EngineCallbacks, type HostEngine } from './host';
import type { LoadDone, Variant } from './protocol';

interface WorkerScope {
  fetch: typeof fetch;
  caches?: CacheStorage;
  crypto: Crypto;
  crossOriginIsolated: boolean;
  location: { origin: string };
  navigator: { hardwareConcurrency?: number; gpu?: GpuLike };
}

/** Errors about the request or the files, which another backend would not fix. */
function isUserOrFileError(err: unknown): boolean {
  return isAbortError(err) || err instanceof InputError || err instanceof VocabularyError || err instanceof BundleFileError || err instanceof BundleFormatError;
}

export class WorkerEngine implements HostEngine {
  private pipeline: Pipeline | null = null;
  private lostReason: string | null = null;
  private readonly io: FileIo;
  private readonly threads: number;

  constructor(private readonly scope: WorkerScope) {
    this.io = browserFileIo(scope);
    this.threads = wasmThreads(scope.crossOriginIsolated, scope.navigator.hardwareConcurrency);
    // transformers.js only tokenizes here, from bytes we hand it; it must never reach for a hub or a CDN.
    transformersEnv.allowRemoteModels = false;
    transformersEnv.allowLocalModels = true;
    transformersEnv.localModelPath = `${scope.location.origin}/models/`;
    transformersEnv.useBrowserCache = false;
    const onnx = transformersEnv.backends.onnx;
    if (onnx.wasm) onnx.wasm.wasmPaths = ORT_WASM_BASE;
  }

  private runtime(backend: BackendInfo, adapter: Parameters<typeof createOrtRuntime>[0]['adapter']): Runtime {
    const rt = createOrtRuntime({ backend, adapter, wasmThreads: this.threads });
    void rt.lost.then((reason) => {
      this.lostReason = reason;
    });
    return rt;
  }

  private wasmRuntime(reason: string): Runtime {
    return this.runtime({ kind: 'wasm', reason, threads: this.threads }, null);
  }

  async load(bundleUrl: string, pref: BackendPreference, cb: EngineCallbacks, warm: Variant, options: OpenOptions = {}): Promise<LoadDone> {
    const t0 = performance.now();
    const old = this.pipeline;
    this.pipeline = null;
    await old?.dispose();
    // A device lost earlier in this page's life stays lost: ORT cannot be given a new one.
    const choice = this.lostReason
      ? { info: { kind: 'wasm', reason: this.lostReason, threads: this.threads } as BackendInfo, adapter: null }
      : await chooseBackend(this.scope.navigator.gpu, this.threads, pref);
    const spec = await openBundle(this.io, new URL(bundleUrl, this.scope.location.origin).href, cb.signal, options);
    const pipeline = new Pipeline(spec, this.io, this.runtime(choice.info, choice.adapter));
    // The form's choice may be one this bundle lacks (flash on a teacher-only bundle): warm what the page will switch to.
    const offers = spec.unets.map((u) => ({ role: u.role, steps: u.recipe.timesteps.length }));
    const { unet } = pipeline.resolve({ ...warm, ...availableChoice(offers, warm).choice });
    // A warm UNet that fails leaves the bundle usable with its other UNets: the page is told which and why.
    const failures = new Map<string, unknown>();
    const prepare = async (): Promise<void> => {
      failures.clear();
      await pipeline.prepare([unet.id], cb, failures);
      const gpuFailure = [...failures.values()].find((err) => !isUserOrFileError(err));
      if (pipeline.backend.kind === 'webgpu' && gpuFailure !== undefined) throw gpuFailure;
    };
    try {
      await prepare();
    } catch (err) {
      if (choice.info.kind !== 'webgpu' || isUserOrFileError(err)) throw err;
      const reason = `WebGPU failed (${err instanceof Error ? err.message : String(err)})`;
      await pipeline.switchRuntime(this.wasmRuntime(reason));
      await prepare();
    }
    // A folder whose every recipe runs on the graph that failed (a standard folder has one UNet) cannot make an
    // image: refused now, with that UNet's error, rather than offering a Generate that fails.
    const failedGraphs = new Set(spec.unets.filter((u) => failures.has(u.id)).map((u) => u.path));
    const unusable = failedGraphs.size > 0 && spec.unets.every((u) => failedGraphs.has(u.path));
    const failure = failures.values().next();
    if (unusable && !failure.done) {
      await pipeline.dispose();
      throw failure.value;
    }
    if (spec.files) void pruneCache(this.io, spec.baseUrl, spec.files).catch(() => 0);
    this.pipeline = pipeline;
    const unetFailures = [...failures].map(([unetId, err]) => ({ unetId, error: toWorkerError(err) }));
    return { bundle: pipeline.summary(), backend: pipeline.backend, ms: performance.now() - t0, unetFailures };
  }

  generate(params: GenerateParams, cb: EngineCallbacks): Promise<GenerateOutput> {
    return this.run((p) => p.generate(params, cb), cb);
  }

  generateGrid(params: GenerateParams, seeds: readonly number[], cb: EngineCallbacks): Promise<GridOutput> {
    return this.run((p) => p.generateGrid(params, seeds, cb), cb);
  }

  /** `job` on the loaded pipeline; a WebGPU failure moves it to WASM and `job` runs once more there. */
  private async run<T>(job: (p: Pipeline) => Promise<T>, cb: EngineCallbacks): Promise<T> {
    const pipeline = this.pipeline;
    if (!pipeline) throw new InputError('No model is loaded yet.');
    if (this.lostReason && pipeline.backend.kind === 'webgpu') await this.fallBack(pipeline, this.lostReason, cb);
    try {
      return await job(pipeline);
    } catch (err) {
      if (pipeline.backend.kind !== 'webgpu' || isUserOrFileError(err)) throw err;
      const reason = this.lostReason ?? `WebGPU failed (${err instanceof Error ? err.message : String(err)})`;
      await this.fallBack(pipeline, reason, cb);
      return job(pipeline);
    }
  }

  private async fallBack(pipeline: Pipeline, reason: string, cb: EngineCallbacks): Promise<void> {
    await pipeline.switchRuntime(this.wasmRuntime(reason));
    cb.onBackend(pipeline.backend, reason);
  }

  /** Diagnostics (?debug in the URL): destroys the WebGPU device as a driver reset would. */
  async loseDevice(): Promise<boolean> {
    if (this.pipeline?.backend.kind !== 'webgpu') return false;
    const device = (await Promise.resolve((await loadOrt('webgpu')).env.webgpu.device)) as unknown as { destroy(): void };
    device.destroy();
    return true;
  }
}
