import { useStore } from 'zustand';
import { createStore, type StoreApi } from 'zustand/vanilla';
import { createBackendSlice } from './backendSlice';
import { createFormSlice } from './formSlice';
import { createModelSlice } from './modelSlice';
import type { AppState } from './types';

export type { AppState } from './types';

export function createAppStore(): StoreApi<AppState> {
  return createStore<AppState>()((...a) => ({
    ...createFormSlice(...a),
    ...createBackendSlice(...a),
    ...createModelSlice(...a),
  }));
}

export const appStore = createAppStore();

export function useAppStore<T>(selector: (state: AppState) => T): T {
  return useStore(appStore, selector);
}
