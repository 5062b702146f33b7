/** Runtimes over the Node WASM runtime that count session runs, or report every batch axis fixed at 1 (as some exports do). */
import type { ModelSession, Runtime } from '../../../src/pipeline/runtime';
import { nodeRuntime } from './nodeRuntime';

function countRuns(s: ModelSession, runs: Map<string, number>): ModelSession {
  return { ...s, run: (f) => (runs.set(s.file, (runs.get(s.file) ?? 0) + 1), s.run(f)) };
}

/** Counts session.run calls per graph file in `runs`. */
export function countingRuntime(runs: Map<string, number>): Runtime {
  const rt = nodeRuntime();
  return { backend: rt.backend, lost: rt.lost, createSession: async (b, f, d) => countRuns(await rt.createSession(b, f, d), runs) };
}

/** The same sessions, whose inputs say their batch axis is fixed at 1; counts runs too. */
export function staticBatchRuntime(runs: Map<string, number>): Runtime {
  const rt = nodeRuntime();
  return {
    backend: rt.backend,
    lost: rt.lost,
    createSession: async (bytes, file, data) => {
      const s = await rt.createSession(bytes, file, data);
      const inputs = s.inputs.map((m) => ({ ...m, shape: m.shape ? [1, ...m.shape.slice(1)] : m.shape }));
      return countRuns({ file: s.file, inputs, outputs: s.outputs, run: (f) => s.run(f), release: () => s.release() }, runs);
    },
  };
}
