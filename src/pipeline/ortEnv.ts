/**
 * onnxruntime-web settings for this app. Its wasm runtime (ort-wasm-simd-threaded*.{mjs,wasm}) is served
 * from our own origin at /ort/ (vite.config.ts), never a CDN. Importing @huggingface/transformers sets
 * `env.wasm.wasmPaths` to a CDN when it is still unset, so call this after importing both packages and
 * before creating any session (on each onnxruntime-web build the app loads, see ort.ts).
 */

export const ORT_WASM_BASE = '/ort/';

/** The part of `ort.env` we set (structural, so this module does not import onnxruntime-web). */
export interface OrtEnvLike {
  wasm: { wasmPaths?: unknown; numThreads?: number; proxy?: boolean };
}

export function configureOrtEnv(env: OrtEnvLike, threads: number, base = ORT_WASM_BASE): void {
  env.wasm.wasmPaths = base;
  env.wasm.numThreads = threads;
  // Inference runs in our own Web Worker; ORT's proxy worker would be a second one.
  env.wasm.proxy = false;
}
