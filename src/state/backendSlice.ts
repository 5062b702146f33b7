import { detectBackend, type BackendInfo, type GpuLike } from '../pipeline/backend';
import type { SliceCreator } from './types';

export interface BackendSlice {
  /** null while detecting */
  backend: BackendInfo | null;
  detectBackend: (gpu: GpuLike | undefined, wasmThreads: number) => Promise<void>;
}

export const createBackendSlice: SliceCreator<BackendSlice> = (set) => ({
  backend: null,
  detectBackend: async (gpu, wasmThreads) => {
    set({ backend: await detectBackend(gpu, wasmThreads) });
  },
});
