/**
 * Where the history outlives the page: one IndexedDB record per image (its RGBA bytes and the request that
 * made it), so adding or dropping one image never rewrites the others. The store only keeps what it is
 * given; the history slice decides what that is (newest first, the cap, no duplicates).
 */

import { clear, createStore, delMany, set, values, type UseStore } from 'idb-keyval';
import { isRecord } from '../pipeline/manifest';
import type { GeneratedImage } from './generationSlice';

export interface HistoryStore {
  /** every kept image, newest first */
  load: () => Promise<GeneratedImage[]>;
  put: (image: GeneratedImage) => Promise<void>;
  remove: (keys: string[]) => Promise<void>;
  clear: () => Promise<void>;
}

/** A record's layout; a record of another version (or a damaged one) is skipped when loading. */
interface StoredImage {
  v: 1;
  /** orders the records: IndexedDB returns them by key, not by age */
  savedAt: number;
  image: GeneratedImage;
}

function isGeneratedImage(x: unknown): x is GeneratedImage {
  if (!isRecord(x) || !isRecord(x.variant) || !isRecord(x.output) || !isRecord(x.output.image)) return false;
  const { variant: v, output: o } = x;
  const img = x.output.image;
  return (
    typeof x.key === 'string' &&
    typeof x.prompt === 'string' &&
    typeof x.seed === 'number' &&
    typeof x.bundle === 'string' &&
    typeof x.backend === 'string' &&
    (v.model === 'flash' || v.model === 'teacher') &&
    (v.steps === 1 || v.steps === 2 || v.steps === 3) &&
    typeof v.noiseCorrection === 'boolean' &&
    typeof img.width === 'number' &&
    typeof img.height === 'number' &&
    img.data instanceof Uint8ClampedArray &&
    img.data.length === img.width * img.height * 4 &&
    Array.isArray(o.timings) &&
    isRecord(o.profile) &&
    typeof o.unetId === 'string' &&
    typeof o.recipe === 'string'
  );
}

function isStoredImage(x: unknown): x is StoredImage {
  return isRecord(x) && x.v === 1 && typeof x.savedAt === 'number' && isGeneratedImage(x.image);
}

/** Newest first, whatever order the records came in; records that are not ours are left out. */
export function sortStored(records: unknown[]): GeneratedImage[] {
  return records
    .filter(isStoredImage)
    .sort((a, b) => b.savedAt - a.savedAt)
    .map((r) => r.image);
}

/** Strictly increasing save times, so two images saved within one millisecond keep their order. */
function clock(): () => number {
  let last = 0;
  return () => {
    last = Math.max(Date.now(), last + 1);
    return last;
  };
}

/**
 * IndexedDB through idb-keyval. Opening the database waits for the first call, and a browser without
 * IndexedDB (or one that refuses it, as some private modes do) gives rejected promises, not a throw.
 */
export function createIdbHistoryStore(dbName = 'imagine-flash', storeName = 'history'): HistoryStore {
  let db: UseStore | null = null;
  const store = (): UseStore => {
    db ??= createStore(dbName, storeName);
    return db;
  };
  const now = clock();
  const run = async <T>(op: (s: UseStore) => Promise<T>): Promise<T> => op(store());
  return {
    load: () => run(async (s) => sortStored(await values<unknown>(s))),
    put: (image) => run((s) => set(image.key, { v: 1, savedAt: now(), image } satisfies StoredImage, s)),
    remove: (keys) => run((s) => delMany(keys, s)),
    clear: () => run((s) => clear(s)),
  };
}

/** The same contract in memory: for tests, and a model of what the IndexedDB store keeps. */
export function createMemoryHistoryStore(): HistoryStore & { records: Map<string, StoredImage> } {
  const records = new Map<string, StoredImage>();
  const now = clock();
  return {
    records,
    load: async () => sortStored([...records.values()]),
    put: async (image) => {
      records.set(image.key, { v: 1, savedAt: now(), image });
    },
    remove: async (keys) => {
      for (const k of keys) records.delete(k);
    },
    clear: async () => {
      records.clear();
    },
  };
}
