/**
 * The little the pipeline needs from an inference engine, so that it stays independent of
 * onnxruntime-web (ort.ts implements it) and can be exercised with fake sessions.
 */

import type { BackendInfo } from './backend';

export type TensorValue =
  | { type: 'float32'; data: Float32Array; dims: number[] }
  | { type: 'float16'; data: Uint16Array; dims: number[] }
  | { type: 'int64'; data: BigInt64Array; dims: number[] }
  | { type: 'int32'; data: Int32Array; dims: number[] };

export interface InputMeta {
  name: string;
  /** element type as the model declares it ('float32', 'int64', …) */
  type: string;
  /** dims: numbers where fixed, names where symbolic; null when the runtime cannot say */
  shape: (number | string)[] | null;
}

export interface ModelSession {
  readonly file: string;
  readonly inputs: readonly InputMeta[];
  readonly outputs: readonly InputMeta[];
  run(feeds: Record<string, TensorValue>): Promise<Record<string, TensorValue>>;
  release(): Promise<void>;
}

/** A weights file an ONNX graph refers to, by the path written in the graph. */
export interface ExternalData {
  path: string;
  data: Uint8Array;
}

export interface Runtime {
  readonly backend: BackendInfo;
  createSession(bytes: Uint8Array, file: string, externalData?: readonly ExternalData[]): Promise<ModelSession>;
  /** resolves when a GPU backend becomes unusable (WebGPU device lost); never for WASM */
  readonly lost: Promise<string>;
}
