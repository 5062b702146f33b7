import { useStore } from 'zustand';
import { createStore, type StoreApi } from 'zustand/vanilla';
import { createBackendSlice } from './backendSlice';
import { createCompareSlice } from './compareSlice';
import { createDecoderSlice } from './decoderSlice';
import { createFormSlice } from './formSlice';
import { createGenerationSlice } from './generationSlice';
import { createGridSlice } from './gridSlice';
import { createHistorySlice } from './historySlice';
import { createLinkSlice } from './linkSlice';
import { createLiveSlice } from './liveSlice';
import { createModelSlice } from './modelSlice';
import type { AppState, StoreDeps } from './types';
import { createViewSlice } from './viewSlice';

export type { AppState } from './types';

const noDeps: StoreDeps = { engine: null, setSearch: () => undefined };

export function createAppStore(deps: StoreDeps = noDeps): StoreApi<AppState> {
  return createStore<AppState>()((...a) => ({
    ...createFormSlice(...a),
    ...createBackendSlice(...a),
    ...createModelSlice(deps)(...a),
    ...createGenerationSlice(deps)(...a),
    ...createHistorySlice(deps)(...a),
    ...createCompareSlice(deps)(...a),
    ...createGridSlice(deps)(...a),
    ...createLiveSlice(deps)(...a),
    ...createDecoderSlice(...a),
    ...createViewSlice(...a),
    ...createLinkSlice(...a),
  }));
}

/** The page's store: wired to the inference worker in main.tsx before the first render. */
let pageStore: StoreApi<AppState> = createAppStore();

export function initAppStore(deps: StoreDeps): StoreApi<AppState> {
  pageStore = createAppStore(deps);
  return pageStore;
}

export const appStore = {
  getState: (): AppState => pageStore.getState(),
  get api(): StoreApi<AppState> {
    return pageStore;
  },
};

export function useAppStore<T>(selector: (state: AppState) => T): T {
  return useStore(pageStore, selector);
}
