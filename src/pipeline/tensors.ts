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

/** The penultimate of a text encoder's `hidden_states.<i>` outputs (what SDXL is conditioned on), or null when it has fewer than two. */
export function penultimateHiddenStates(session: Pick<ModelSession, 'outputs'>): string | null {
  const layers = session.outputs
    .map((o) => ({ name: o.name, i: /^hidden_states\.(\d+)$/.exec(o.name)?.[1] }))
    .filter((o): o is { name: string; i: string } => o.i !== undefined)
    .sort((a, b) => Number(a.i) - Number(b.i));
  return layers.length >= 2 ? (layers[layers.length - 2] as { name: string }).name : null;
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

/** Whether the UNet takes its timestep as a scalar (rank 0, as optimum exports it) rather than one per batch row. */
export function scalarTimestep(m: InputMeta): boolean {
  return m.shape !== null && m.shape.length === 0;
}

/**
 * A timestep in the type and rank the UNet declares: float32 [batch] for ours, a rank-0 float32 or float16 scalar
 * for optimum's exports, int64 for older ones.
 */
export function timestepTensor(m: InputMeta, file: string, t: number, batch: number): TensorValue {
  const dims = scalarTimestep(m) ? [] : [batch];
  const values = Array<number>(scalarTimestep(m) ? 1 : batch).fill(t);
  switch (m.type) {
    case 'float32':
    case 'float16':
      return floatTensor(m, file, Float32Array.from(values), dims);
    case 'int64':
    case 'int32':
      return intTensor(m, file, values, dims);
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
