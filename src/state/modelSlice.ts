import { fetchModelIndex, type BundleRef, type IndexResult } from '../pipeline/modelIndex';
import type { SliceCreator } from './types';

export type ModelIndexState = { kind: 'loading' } | IndexResult;

export interface ModelSlice {
  modelIndex: ModelIndexState;
  bundle: BundleRef | null;
  /** true once the bundle's sessions are created (text encoder, UNet, VAE decoder) */
  modelReady: boolean;
  loadModelIndex: (fetchFn: typeof fetch) => Promise<void>;
}

export const createModelSlice: SliceCreator<ModelSlice> = (set) => ({
  modelIndex: { kind: 'loading' },
  bundle: null,
  modelReady: false,
  loadModelIndex: async (fetchFn) => {
    set({ modelIndex: { kind: 'loading' }, bundle: null, modelReady: false });
    const result = await fetchModelIndex(fetchFn);
    set({ modelIndex: result, bundle: result.kind === 'found' ? (result.bundles[0] ?? null) : null });
  },
});
