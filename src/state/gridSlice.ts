import { MAX_SEED } from '../pipeline/noise';
import type { WorkerError } from '../worker/protocol';
import { newImage, type GeneratedImage } from './generationSlice';
import type { SliceCreator, StoreDeps } from './types';

export const GRID_SIZE = 4;

export interface GridTile {
  seed: number;
  image: GeneratedImage | null;
}

export interface GridSlice {
  gridStatus: 'idle' | 'running' | 'done' | 'error';
  gridError: WorkerError | null;
  grid: GridTile[];
  /** whether the last grid's seeds ran in one batch (false: the graphs take one image at a time); null until it ends */
  gridBatched: boolean | null;
  /** the form's prompt and variant at GRID_SIZE seeds from the form's seed on, in the grid view */
  startGrid: () => void;
  cancelGrid: () => void;
  /** makes a tile's image the main image and its seed the form's (and keeps it in the history) */
  pickGridTile: (index: number) => void;
}

/** `seed` and the ones after it, wrapping past the largest seed to 0: the first tile is the form's own image. */
export function gridSeeds(seed: number, n = GRID_SIZE): number[] {
  return Array.from({ length: n }, (_, i) => (seed + i) % (MAX_SEED + 1));
}

export const createGridSlice =
  (deps: StoreDeps): SliceCreator<GridSlice> =>
  (set, get) => {
    let jobId: number | null = null;
    return {
      gridStatus: 'idle',
      gridError: null,
      grid: [],
      gridBatched: null,
      cancelGrid: () => {
        if (jobId === null) return;
        deps.engine?.cancel(jobId);
        jobId = null;
        set({ gridStatus: 'idle' });
      },
      pickGridTile: (index) => {
        const image = get().grid[index]?.image;
        if (!image) return;
        get().addToHistory(image);
        get().showImage(image);
      },
      startGrid: () => {
        const engine = deps.engine;
        if (get().load.kind !== 'ready' || !engine) return;
        get().stopLive();
        const r = get().formRequest();
        if (!r.ok) {
          get().cancelGrid();
          set({ view: 'grid', grid: [], gridBatched: null, gridStatus: 'error', gridError: { kind: 'input', message: r.message } });
          return;
        }
        const { prompt, seed, variant } = r.request;
        const seeds = gridSeeds(seed);
        set({ view: 'grid', grid: seeds.map((s) => ({ seed: s, image: null })), gridBatched: null, gridStatus: 'running', gridError: null });
        const job = engine.grid(prompt, seeds, variant, {
          onBackend: (backend, reason) => get().setBackend(backend, reason),
          onImage: (i, output) => {
            const tile = get().grid[i];
            if (jobId !== job.id || !tile) return;
            get().noteUnetWorks(output.unetId);
            const image = newImage(get(), { prompt, seed: tile.seed, variant }, output);
            set({ grid: get().grid.map((t, k) => (k === i ? { ...t, image } : t)) });
          },
        });
        jobId = job.id;
        void job.done.then((res) => {
          if (jobId !== job.id) return;
          jobId = null;
          if (res.ok) {
            set({ gridStatus: 'done', gridBatched: res.value.batched });
            return;
          }
          get().noteFileError(res.error, variant);
          set({ gridStatus: res.error.kind === 'cancelled' ? 'idle' : 'error', gridError: res.error.kind === 'cancelled' ? null : res.error });
        });
      },
    };
  };
