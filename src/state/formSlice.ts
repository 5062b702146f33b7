import { MAX_SEED, parseSeed } from '../pipeline/noise';
import type { UnetRole } from '../pipeline/bundle';
import type { StepCount } from '../pipeline/pipeline';
import type { Variant } from '../worker/protocol';
import type { UrlState } from './urlState';
import type { SliceCreator } from './types';

export type { StepCount };
export const STEP_COUNTS: readonly StepCount[] = [1, 2, 3];
export { MAX_SEED };

export interface GenerateRequest {
  prompt: string;
  seed: number;
  variant: Variant;
}

export interface FormSlice {
  prompt: string;
  steps: StepCount;
  /** as typed: validated on Generate so a bad seed is explained, not silently replaced */
  seedText: string;
  model: UnetRole;
  noiseCorrection: boolean;
  /** the last request handed to the pipeline */
  lastRequest: GenerateRequest | null;
  /** generate as soon as the model is ready (a shared link) */
  autoGenerate: boolean;
  setPrompt: (prompt: string) => void;
  setSteps: (steps: number) => void;
  setSeedText: (seed: string) => void;
  randomizeSeed: (random?: () => number) => void;
  setModel: (model: UnetRole) => void;
  setNoiseCorrection: (on: boolean) => void;
  applyUrlState: (s: UrlState) => void;
  /** the validated request of the form, or an error message */
  formRequest: () => { ok: true; request: GenerateRequest } | { ok: false; message: string };
  requestGenerate: () => void;
}

export function isStepCount(n: number): n is StepCount {
  return (STEP_COUNTS as readonly number[]).includes(n);
}

export const DEFAULT_PROMPT = 'a red circle to the left of a blue square';

export const createFormSlice: SliceCreator<FormSlice> = (set, get) => ({
  prompt: DEFAULT_PROMPT,
  steps: 2,
  seedText: '0',
  model: 'flash',
  noiseCorrection: true,
  lastRequest: null,
  autoGenerate: false,
  setPrompt: (prompt) => set({ prompt }),
  setSteps: (steps) => {
    if (isStepCount(steps)) set({ steps });
  },
  setSeedText: (seedText) => set({ seedText }),
  randomizeSeed: (random = Math.random) => set({ seedText: String(Math.floor(random() * (MAX_SEED + 1))) }),
  setModel: (model) => set({ model }),
  setNoiseCorrection: (noiseCorrection) => set({ noiseCorrection }),
  applyUrlState: (s) =>
    set((st) => ({
      prompt: s.prompt ?? st.prompt,
      seedText: s.seed ?? st.seedText,
      steps: s.steps ?? st.steps,
      model: s.model ?? st.model,
      noiseCorrection: s.nc ?? st.noiseCorrection,
      autoGenerate: s.prompt !== undefined && s.prompt.trim() !== '',
    })),
  formRequest: () => {
    const { prompt, seedText, steps, model, noiseCorrection } = get();
    if (prompt.trim() === '') return { ok: false, message: 'Enter a prompt first.' };
    const seed = parseSeed(seedText);
    if (!seed.ok) return { ok: false, message: seed.message };
    return { ok: true, request: { prompt: prompt.trim(), seed: seed.seed, variant: { model, steps, noiseCorrection } } };
  },
  requestGenerate: () => {
    if (!get().modelReady) return;
    const r = get().formRequest();
    if (!r.ok) {
      get().showInputError(r.message);
      return;
    }
    set({ lastRequest: r.request, autoGenerate: false });
    get().startGeneration(r.request);
  },
});
