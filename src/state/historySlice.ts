import type { GeneratedImage } from './generationSlice';
import type { HistoryStore } from './historyStore';
import type { SliceCreator, StoreDeps } from './types';
import { imageSearch } from './urlState';

export const HISTORY_LIMIT = 24;

export const HISTORY_NOT_KEPT = 'This browser would not let the app store its history, so it will be gone when the page closes.';

export interface HistorySlice {
  /** newest first, one entry per request */
  history: GeneratedImage[];
  /** set once when storing the history failed: from then on it lives in memory only */
  historyNotice: string | null;
  /** adds a new image in front; an image of the same request replaces the older one */
  addToHistory: (image: GeneratedImage) => void;
  /** shows a past image, restores the form that made it and puts its link in the address bar */
  showFromHistory: (key: string) => void;
  /** the same for any image made earlier (a seed grid's tile): any run still going is stopped */
  showImage: (image: GeneratedImage) => void;
  clearHistory: () => void;
  /** the history kept by an earlier visit, behind anything this page already made */
  loadHistory: () => Promise<void>;
}

/** What an image was made from: the fields that decide its pixels (the backend aside, which changes them only slightly). */
export type ImageRequest = Pick<GeneratedImage, 'bundle' | 'prompt' | 'seed' | 'variant'>;

export function sameRequest(a: ImageRequest, b: ImageRequest): boolean {
  return (
    a.bundle === b.bundle &&
    a.prompt === b.prompt &&
    a.seed === b.seed &&
    a.variant.model === b.variant.model &&
    a.variant.steps === b.variant.steps &&
    a.variant.noiseCorrection === b.variant.noiseCorrection
  );
}

/** Newest first with no two entries of one request, at most HISTORY_LIMIT. */
export function mergeHistory(newer: GeneratedImage[], older: GeneratedImage[]): GeneratedImage[] {
  const out: GeneratedImage[] = [];
  for (const image of [...newer, ...older]) {
    if (out.length === HISTORY_LIMIT) break;
    if (!out.some((h) => sameRequest(h, image))) out.push(image);
  }
  return out;
}

export const createHistorySlice =
  (deps: StoreDeps): SliceCreator<HistorySlice> =>
  (set, get) => {
    const store: HistoryStore | null = deps.history ?? null;
    /** false once a write (or the load) failed: new images live in memory only from then on */
    let writing = store !== null;
    const failed = (): void => {
      writing = false;
      set({ historyNotice: HISTORY_NOT_KEPT });
    };
    const write = (op: (s: HistoryStore) => Promise<void>): void => {
      if (store && writing) op(store).catch(failed);
    };
    // Tried even after a failed write (a full quota refuses a put, not a delete): an image cleared or trimmed
    // here that stayed in IndexedDB would come back on the next visit.
    const erase = (op: (s: HistoryStore) => Promise<void>): void => {
      if (store) op(store).catch(failed);
    };
    /** a Clear while the saved history loads wins over it */
    let clears = 0;
    /** drops from the store what `kept` no longer holds */
    const removeDropped = (before: GeneratedImage[], kept: GeneratedImage[]): void => {
      const keptKeys = new Set(kept.map((h) => h.key));
      const dropped = before.filter((h) => !keptKeys.has(h.key)).map((h) => h.key);
      if (dropped.length > 0) erase((s) => s.remove(dropped));
    };
    return {
      history: [],
      historyNotice: null,
      addToHistory: (image) => {
        const before = get().history;
        const kept = mergeHistory([image], before);
        set({ history: kept });
        write((s) => s.put(image));
        removeDropped(before, kept);
      },
      showFromHistory: (key) => {
        const image = get().history.find((h) => h.key === key);
        if (image) get().showImage(image);
      },
      showImage: (image) => {
        // a run still going would otherwise replace the image chosen here when it lands, and a comparison or a
        // grid would keep the worker busy for a view no longer shown; a pending live run would replace it too
        get().cancelGeneration();
        get().cancelCompare();
        get().cancelGrid();
        get().stopLive();
        set({
          current: image,
          view: 'single',
          prompt: image.prompt,
          seedText: String(image.seed),
          steps: image.variant.steps,
          model: image.variant.model,
          noiseCorrection: image.variant.noiseCorrection,
          status: 'done',
          runKind: 'chosen',
          error: null,
        });
        deps.setSearch(imageSearch(image, get().backendPref, get().livePref));
      },
      clearHistory: () => {
        clears += 1;
        set({ history: [] });
        erase((s) => s.clear());
      },
      loadHistory: async () => {
        if (!store || !writing) return;
        const clearsBefore = clears;
        let saved: GeneratedImage[];
        try {
          saved = await store.load();
        } catch {
          failed();
          return;
        }
        if (clears !== clearsBefore) return;
        const kept = mergeHistory(get().history, saved);
        set({ history: kept });
        removeDropped(saved, kept);
      },
    };
  };
