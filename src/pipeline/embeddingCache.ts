/**
 * The text encoder's hidden states of recent prompts, so that the same prompt is encoded once: the comparison
 * view (four variants of one prompt), the seed grid, live mode re-running a prompt after a pause that changed
 * nothing, and a history item generated again. Least recently used first out.
 *
 * Keyed by the token ids the encoder is fed and by the encoder itself (its session object): a different bundle,
 * or the same bundle's encoder recreated on another backend after a lost GPU, has another session and never
 * gets a hit from this one. Owners are numbered through a WeakMap, so a released session is not kept alive by
 * its entries; those age out as new prompts come in.
 */

/**
 * 32 prompts: a session's recent prompts, comparisons and grids fit, and the memory stays bounded: our
 * bundle's hidden states are 77×128 floats (39 KB each, 1.3 MB in all), an SD 1.5 folder's 77×768 (236 KB, 7.5 MB).
 */
export const EMBEDDING_CACHE_SIZE = 32;

export class EmbeddingCache {
  private readonly entries = new Map<string, Float32Array>();
  private readonly owners = new WeakMap<object, number>();
  private nextOwner = 1;

  constructor(readonly capacity = EMBEDDING_CACHE_SIZE) {
    if (!Number.isInteger(capacity) || capacity < 1) throw new RangeError(`embedding cache capacity must be a whole number ≥ 1, not ${capacity}`);
  }

  get size(): number {
    return this.entries.size;
  }

  /** The hidden states `owner` gave for `ids`, now the most recently used; undefined on a miss. */
  get(owner: object, ids: readonly number[]): Float32Array | undefined {
    const key = this.key(owner, ids);
    const hit = this.entries.get(key);
    if (hit === undefined) return undefined;
    this.entries.delete(key);
    this.entries.set(key, hit);
    return hit;
  }

  /** Keeps `hidden` (not copied: callers must not write to it) and drops the least recently used beyond capacity. */
  set(owner: object, ids: readonly number[], hidden: Float32Array): void {
    const key = this.key(owner, ids);
    this.entries.delete(key);
    this.entries.set(key, hidden);
    while (this.entries.size > this.capacity) {
      const oldest = this.entries.keys().next();
      if (oldest.done) break;
      this.entries.delete(oldest.value);
    }
  }

  clear(): void {
    this.entries.clear();
  }

  private key(owner: object, ids: readonly number[]): string {
    let n = this.owners.get(owner);
    if (n === undefined) {
      n = this.nextOwner++;
      this.owners.set(owner, n);
    }
    return `${n}:${ids.join(',')}`;
  }
}

/** The worker's one cache: every bundle it opens shares the bound. */
export const embeddingCache = new EmbeddingCache();
