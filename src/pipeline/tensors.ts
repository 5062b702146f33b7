/**
 * A session's inputs and outputs in the element types its graph declares: our exports take float32 and
 * int64, optimum's and fp16 exports differ, so feeds are built from the session's own metadata and outputs
 * come back as float32 whatever the graph computes in.
 */

import { assertNever } from './bundle';
import { ModelError } from './errors';
import { floatsToHalf, halfToFloats } from './half';
import type { InputMeta, ModelSession, TensorValue } from './runtime';

export function meta(session: ModelSession, name: string): InputMeta {
  const m = session.inputs.find((i) => i.name === name);
  if (!m) throw new ModelError(session.file, `has no input "${name}" (inputs: ${session.inputs.map((i) => i.name).join(', ')})`);
  return m;
}

/** `preferred` where the graph names its output so; otherwise its first output (exporters name them differently). */
export function outputName(session: ModelSession, preferred: string): string {
  return session.outputs.find((o) => o.name === preferred)?.name ?? session.outputs[0]?.name ?? preferred;
}

/** The size of `axis` when the graph fixes it; null when it is symbolic or unknown. */
export function fixedDim(m: InputMeta, axis: number): number | null {
  const d = m.shape?.[axis];
  return typeof d === 'number' && d > 0 ? d : null;
}

export function floatTensor(m: InputMeta, file: string, data: Float32Array, dims: number[]): TensorValue {
  if (m.type === 'float32') return { type: 'float32', data, dims };
  if (m.type === 'float16') return { type: 'float16', data: floatsToHalf(data), dims };
  throw new ModelError(file, `input "${m.name}" has type ${m.type}; float32 or float16 expected`);
}

export function intTensor(m: InputMeta, file: string, values: readonly number[], dims: number[]): TensorValue {
  if (m.type === 'int64') return { type: 'int64', data: BigInt64Array.from(values, (v) => BigInt(v)), dims };
  if (m.type === 'int32') return { type: 'int32', data: Int32Array.from(values), dims };
  throw new ModelError(file, `input "${m.name}" has type ${m.type}; int64 or int32 expected`);
}

/** A timestep in whatever type the UNet declares (float32 for ours, int64 for optimum exports). */
export function timestepTensor(m: InputMeta, file: string, t: number, batch: number): TensorValue {
  const values = Array<number>(batch).fill(t);
  switch (m.type) {
    case 'float32':
    case 'float16':
      return floatTensor(m, file, Float32Array.from(values), [batch]);
    case 'int64':
    case 'int32':
      return intTensor(m, file, values, [batch]);
    default:
      throw new ModelError(file, `input "timestep" has unsupported type ${m.type}`);
  }
}

export function asFloats(v: TensorValue | undefined, file: string, name: string): Float32Array {
  if (!v) throw new ModelError(file, `produced no output "${name}"`);
  switch (v.type) {
    case 'float32':
      return v.data;
    case 'float16':
      return halfToFloats(v.data);
    case 'int64':
    case 'int32':
      throw new ModelError(file, `output "${name}" is ${v.type}; a float tensor was expected`);
    default:
      return assertNever(v);
  }
}
