import { detectBackend, type BackendInfo, type BackendPreference, type GpuLike } from '../pipeline/backend';
import type { SliceCreator } from './types';

export interface BackendSlice {
  /** null while detecting; then what the worker actually runs on */
  backend: BackendInfo | null;
  backendPref: BackendPreference;
  /** why the backend changed by itself (a lost WebGPU device), shown until the next load */
  backendNotice: string | null;
  detectBackend: (gpu: GpuLike | undefined, wasmThreads: number) => Promise<void>;
  setBackend: (backend: BackendInfo, notice?: string) => void;
  setBackendPref: (pref: BackendPreference) => void;
}

export const createBackendSlice: SliceCreator<BackendSlice> = (set, get) => ({
  backend: null,
  backendPref: 'auto',
  backendNotice: null,
  detectBackend: async (gpu, wasmThreads) => {
    const detected = await detectBackend(gpu, wasmThreads);
    // The worker's report (after a load) is authoritative; the page's own guess only fills the gap.
    if (get().backend === null) set({ backend: detected });
  },
  setBackend: (backend, notice) => set({ backend, backendNotice: notice ?? null }),
  setBackendPref: (backendPref) => {
    if (backendPref === get().backendPref) return;
    set({ backendPref, backendNotice: null });
    get().loadBundle();
  },
});
