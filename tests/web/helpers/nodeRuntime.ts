/** onnxruntime-web's WASM backend in Node (its node build), one thread: the pipeline's real engine in vitest. */
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { createOrtRuntime } from '../../../src/pipeline/ort';
import type { Runtime } from '../../../src/pipeline/runtime';

export function nodeRuntime(): Runtime {
  const dist = resolve(import.meta.dirname, '../../../node_modules/onnxruntime-web/dist/');
  return createOrtRuntime({
    backend: { kind: 'wasm', reason: 'tests in Node', threads: 1 },
    adapter: null,
    wasmThreads: 1,
    wasmBase: `${pathToFileURL(dist).pathname}/`,
    load: () => import('onnxruntime-web'), // its Node build (the "node" export condition)
  });
}
