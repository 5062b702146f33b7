import type { GeneratedImage } from './generationSlice';
import type { SliceCreator } from './types';

export const HISTORY_LIMIT = 24;

export interface HistorySlice {
  /** newest first */
  history: GeneratedImage[];
  addToHistory: (image: GeneratedImage) => void;
  /** shows a past image and restores the form that made it */
  showFromHistory: (key: string) => void;
  clearHistory: () => void;
}

export const createHistorySlice: SliceCreator<HistorySlice> = (set, get) => ({
  history: [],
  addToHistory: (image) => set((s) => ({ history: [image, ...s.history].slice(0, HISTORY_LIMIT) })),
  showFromHistory: (key) => {
    const image = get().history.find((h) => h.key === key);
    if (!image) return;
    set({
      current: image,
      view: 'single',
      prompt: image.prompt,
      seedText: String(image.seed),
      steps: image.variant.steps,
      model: image.variant.model,
      noiseCorrection: image.variant.noiseCorrection,
      status: 'done',
      error: null,
    });
  },
  clearHistory: () => set({ history: [] }),
});
