import type { SliceCreator } from './types';

export type StepCount = 1 | 2 | 3;
export const STEP_COUNTS: readonly StepCount[] = [1, 2, 3];
export const MAX_SEED = 2 ** 32 - 1;

export interface GenerateRequest {
  prompt: string;
  steps: StepCount;
  seed: number;
}

export interface FormSlice {
  prompt: string;
  steps: StepCount;
  seed: number;
  /** the last request handed to the pipeline (consumed by the inference worker) */
  lastRequest: GenerateRequest | null;
  setPrompt: (prompt: string) => void;
  setSteps: (steps: number) => void;
  setSeed: (seed: number) => void;
  requestGenerate: () => void;
}

export function isStepCount(n: number): n is StepCount {
  return (STEP_COUNTS as readonly number[]).includes(n);
}

/** Integer seed in [0, 2³²−1]; anything else falls back to 0. */
export function normalizeSeed(seed: number): number {
  if (!Number.isFinite(seed)) return 0;
  return Math.min(MAX_SEED, Math.max(0, Math.trunc(seed)));
}

export const createFormSlice: SliceCreator<FormSlice> = (set, get) => ({
  prompt: 'a red circle to the left of a blue square',
  steps: 2,
  seed: 0,
  lastRequest: null,
  setPrompt: (prompt) => set({ prompt }),
  setSteps: (steps) => {
    if (isStepCount(steps)) set({ steps });
  },
  setSeed: (seed) => set({ seed: normalizeSeed(seed) }),
  requestGenerate: () => {
    const { prompt, steps, seed, modelReady } = get();
    if (modelReady && prompt.trim() !== '') set({ lastRequest: { prompt: prompt.trim(), steps, seed } });
  },
});
