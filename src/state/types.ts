import type { StateCreator } from 'zustand';
import type { Engine } from '../worker/client';
import type { BackendSlice } from './backendSlice';
import type { CompareSlice } from './compareSlice';
import type { DecoderSlice } from './decoderSlice';
import type { FormSlice } from './formSlice';
import type { GenerationSlice } from './generationSlice';
import type { GridSlice } from './gridSlice';
import type { HistorySlice } from './historySlice';
import type { HistoryStore } from './historyStore';
import type { LinkSlice } from './linkSlice';
import type { LiveSlice } from './liveSlice';
import type { ModelSlice } from './modelSlice';
import type { ViewSlice } from './viewSlice';

export type AppState = FormSlice &
  BackendSlice &
  ModelSlice &
  GenerationSlice &
  HistorySlice &
  CompareSlice &
  GridSlice &
  LiveSlice &
  DecoderSlice &
  ViewSlice &
  LinkSlice;

/** A slice sees (and may set) the whole state but contributes only its own part. */
export type SliceCreator<T> = StateCreator<AppState, [], [], T>;

/** What slices reach outside the store for; absent in unit tests that only exercise state. */
export interface StoreDeps {
  engine: Engine | null;
  /** the page's URL bar: replaceState with a search string */
  setSearch: (search: string) => void;
  /** keeps the history across visits; without one it lives as long as the page */
  history?: HistoryStore;
}
