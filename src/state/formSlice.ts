import { MAX_SEED, parseSeed } from '../pipeline/noise';
import type { UnetRole } from '../pipeline/bundle';
import type { BundleSummary, StepCount } from '../pipeline/pipeline';
import { availableChoice, describeChoice } from '../pipeline/variants';
import type { Variant } from '../worker/protocol';
import { chosenDecoder, withDecoder } from './decoderSlice';
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
  /** the model or step count came from a link (so a bundle lacking it is explained, not silently swapped) */
  modelFromLink: boolean;
  /** why the form's model changed by itself after a bundle loaded */
  modelNotice: string | null;
  /** the user's edit (typing, a suggestion): live mode follows it */
  setPrompt: (prompt: string) => void;
  setSteps: (steps: number) => void;
  setSeedText: (seed: string) => void;
  randomizeSeed: (random?: () => number) => void;
  setModel: (model: UnetRole) => void;
  setNoiseCorrection: (on: boolean) => void;
  applyUrlState: (s: UrlState) => void;
  /** after a load: switches the form to a model the bundle has (Flash when it has flash UNets, else Teacher) */
  fitModelToBundle: (summary: BundleSummary) => void;
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
  modelFromLink: false,
  modelNotice: null,
  setPrompt: (prompt) => {
    set({ prompt });
    get().promptEdited();
  },
  setSteps: (steps) => {
    if (isStepCount(steps)) set({ steps, modelNotice: null });
  },
  setSeedText: (seedText) => set({ seedText }),
  randomizeSeed: (random = Math.random) => set({ seedText: String(Math.floor(random() * (MAX_SEED + 1))) }),
  setModel: (model) => set({ model, modelNotice: null }),
  setNoiseCorrection: (noiseCorrection) => set({ noiseCorrection }),
  applyUrlState: (s) =>
    set((st) => ({
      prompt: s.prompt ?? st.prompt,
      seedText: s.seed ?? st.seedText,
      steps: s.steps ?? st.steps,
      model: s.model ?? st.model,
      noiseCorrection: s.nc ?? st.noiseCorrection,
      autoGenerate: s.prompt !== undefined && s.prompt.trim() !== '',
      modelFromLink: s.model !== undefined || s.steps !== undefined,
    })),
  fitModelToBundle: (summary) => {
    const { model, steps, modelFromLink } = get();
    const { choice, missing } = availableChoice(summary.unets, { model, steps });
    if (missing === null) {
      set({ modelNotice: null });
      return;
    }
    // A link that asked for a model this bundle lacks would make a different image: say so, do not generate it.
    set({
      ...choice,
      modelNotice: modelFromLink ? `This link asks for ${missing}, which ${summary.name} does not have; ${describeChoice(choice)} is selected instead.` : null,
      ...(modelFromLink ? { autoGenerate: false } : {}),
    });
  },
  formRequest: () => {
    const { prompt, seedText, steps, model, noiseCorrection } = get();
    if (prompt.trim() === '') return { ok: false, message: 'Enter a prompt first.' };
    const seed = parseSeed(seedText);
    if (!seed.ok) return { ok: false, message: seed.message };
    const variant = withDecoder({ model, steps, noiseCorrection }, chosenDecoder(get()));
    return { ok: true, request: { prompt: prompt.trim(), seed: seed.seed, variant } };
  },
  requestGenerate: () => {
    if (!get().modelReady) return;
    // Generate (button or Enter) while the comparison or the seed grid is shown re-runs it with the form's request
    const { view } = get();
    if (view === 'compare' || view === 'grid') {
      set({ autoGenerate: false });
      if (view === 'compare') get().startCompare();
      else get().startGrid();
      return;
    }
    const r = get().formRequest();
    if (!r.ok) {
      get().showInputError(r.message);
      return;
    }
    set({ lastRequest: r.request, autoGenerate: false });
    get().startGeneration(r.request);
  },
});
