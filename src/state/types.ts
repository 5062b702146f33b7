import type { StateCreator } from 'zustand';
import type { BackendSlice } from './backendSlice';
import type { FormSlice } from './formSlice';
import type { ModelSlice } from './modelSlice';

export type AppState = FormSlice & BackendSlice & ModelSlice;

/** A slice sees (and may set) the whole state but contributes only its own part. */
export type SliceCreator<T> = StateCreator<AppState, [], [], T>;
