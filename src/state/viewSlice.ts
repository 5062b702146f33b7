import type { SliceCreator } from './types';

export type View = 'single' | 'compare' | 'grid';
export type Smoothing = 'smooth' | 'pixelated';

export interface ViewSlice {
  view: View;
  smoothing: Smoothing;
  setView: (view: View) => void;
  setSmoothing: (smoothing: Smoothing) => void;
}

export const createViewSlice: SliceCreator<ViewSlice> = (set) => ({
  view: 'single',
  smoothing: 'pixelated',
  setView: (view) => set({ view }),
  setSmoothing: (smoothing) => set({ smoothing }),
});
