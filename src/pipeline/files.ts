/**
 * Fetching a bundle's files: streamed with byte progress, checked against the manifest's size and sha256
 * (WebCrypto) before anything parses or runs them, and kept in the Cache API under their hash so a reload
 * reads them from disk. Unverified files (standard folders, which have no hashes) go through the HTTP
 * cache only: without a hash there is no safe cache key.
 */

import type { FileRecord } from './bundle';

export class BundleFileError extends Error {
  constructor(
    readonly file: string,
    readonly reason: string,
  ) {
    super(`${file}: ${reason}`);
    this.name = 'BundleFileError';
  }
}

export const CACHE_NAME = 'imagine-flash-bundles-v1';

export interface FileIo {
  fetch: typeof fetch;
  /** null where the Cache API is unavailable (an insecure origin, some private modes) */
  caches: CacheStorage | null;
  sha256: (bytes: Uint8Array) => Promise<string>;
}

export function browserFileIo(scope: { fetch: typeof fetch; caches?: CacheStorage; crypto: Crypto }): FileIo {
  return {
    fetch: scope.fetch.bind(scope),
    caches: scope.caches ?? null,
    sha256: async (bytes) => toHex(await scope.crypto.subtle.digest('SHA-256', bytes as Uint8Array<ArrayBuffer>)),
  };
}

export function toHex(buf: ArrayBuffer): string {
  return Array.from(new Uint8Array(buf), (b) => b.toString(16).padStart(2, '0')).join('');
}

export interface FileProgress {
  file: string;
  /** bytes of this file received so far */
  loaded: number;
  /** expected bytes of this file, when known */
  total: number | null;
  fromCache: boolean;
}

export interface ReadOptions {
  signal?: AbortSignal;
  onProgress?: (p: FileProgress) => void;
}

/** The check that runs before any session sees the bytes. */
export async function verifyBytes(io: FileIo, record: FileRecord, bytes: Uint8Array): Promise<void> {
  if (bytes.byteLength !== record.bytes) {
    throw new BundleFileError(record.path, `size is ${bytes.byteLength} bytes, the manifest says ${record.bytes}: the file is truncated or corrupted`);
  }
  const got = await io.sha256(bytes);
  if (got !== record.sha256) {
    throw new BundleFileError(
      record.path,
      `sha256 ${got.slice(0, 12)}… does not match the manifest's ${record.sha256.slice(0, 12)}…: the file is corrupted or from another bundle`,
    );
  }
}

/** Content-addressed: the hash is in the query, since Cache API matching ignores URL fragments. */
function cacheKey(url: string, record: FileRecord): string {
  return `${url}?sha256=${record.sha256}`;
}

/** `baseUrl` is absolute (the worker resolves /models/… against its origin). */
function fileUrl(baseUrl: string, path: string): string {
  return new URL(path, baseUrl).href;
}

async function openCache(io: FileIo): Promise<Cache | null> {
  try {
    return io.caches ? await io.caches.open(CACHE_NAME) : null;
  } catch {
    return null;
  }
}

async function download(io: FileIo, url: string, file: string, expected: number | null, opts: ReadOptions): Promise<Uint8Array> {
  let res: Response;
  try {
    res = await io.fetch(url, { signal: opts.signal });
  } catch (err) {
    if (opts.signal?.aborted) throw err;
    throw new BundleFileError(file, `could not be downloaded (${err instanceof Error ? err.message : String(err)})`);
  }
  if (res.status === 404) throw new BundleFileError(file, 'is missing from the bundle (HTTP 404)');
  if (!res.ok) throw new BundleFileError(file, `could not be downloaded (HTTP ${res.status})`);
  const header = Number(res.headers.get('content-length'));
  const total = expected ?? (Number.isFinite(header) && header > 0 ? header : null);
  const report = (loaded: number): void => opts.onProgress?.({ file, loaded, total, fromCache: false });
  if (!res.body) {
    const bytes = new Uint8Array(await res.arrayBuffer());
    report(bytes.byteLength);
    return bytes;
  }
  const reader = res.body.getReader();
  const chunks: Uint8Array[] = [];
  let loaded = 0;
  report(0);
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    chunks.push(value);
    loaded += value.byteLength;
    // A server that sends more than the manifest promised is wrong; stop early instead of buffering it all.
    if (expected !== null && loaded > expected) {
      await reader.cancel();
      throw new BundleFileError(file, `is larger than the ${expected} bytes the manifest says: the file is corrupted or from another bundle`);
    }
    report(loaded);
  }
  const out = new Uint8Array(loaded);
  let offset = 0;
  for (const c of chunks) {
    out.set(c, offset);
    offset += c.byteLength;
  }
  return out;
}

/**
 * A verified file: from the Cache API when present (re-hashed, so a damaged cache entry is replaced), else
 * downloaded, verified, then cached. Throws BundleFileError naming the file on any mismatch.
 */
export async function readVerifiedFile(io: FileIo, baseUrl: string, record: FileRecord, opts: ReadOptions = {}): Promise<Uint8Array> {
  const url = fileUrl(baseUrl, record.path);
  const cache = await openCache(io);
  const key = cacheKey(url, record);
  if (cache) {
    const hit = await cache.match(key).catch(() => undefined);
    if (hit) {
      const bytes = new Uint8Array(await hit.arrayBuffer());
      try {
        await verifyBytes(io, record, bytes);
        opts.onProgress?.({ file: record.path, loaded: bytes.byteLength, total: record.bytes, fromCache: true });
        return bytes;
      } catch {
        await cache.delete(key).catch(() => false);
      }
    }
  }
  opts.signal?.throwIfAborted();
  const bytes = await download(io, url, record.path, record.bytes, opts);
  await verifyBytes(io, record, bytes);
  if (cache) {
    const headers = { 'Content-Type': 'application/octet-stream', 'Content-Length': String(bytes.byteLength) };
    await cache.put(key, new Response(bytes as Uint8Array<ArrayBuffer>, { headers })).catch(() => undefined);
  }
  return bytes;
}

/** A file of a standard folder: no hash to check, so only its presence is verified. */
export async function readUnverifiedFile(io: FileIo, baseUrl: string, path: string, opts: ReadOptions = {}): Promise<Uint8Array> {
  return download(io, fileUrl(baseUrl, path), path, null, opts);
}

/** Drops cached files of `baseUrl` that the current manifest no longer lists (an updated bundle). */
export async function pruneCache(io: FileIo, baseUrl: string, keep: readonly FileRecord[]): Promise<number> {
  const cache = await openCache(io);
  if (!cache) return 0;
  const wanted = new Set(keep.map((r) => r.sha256));
  const base = new URL(baseUrl);
  let removed = 0;
  for (const req of await cache.keys()) {
    const u = new URL(req.url);
    const hash = u.searchParams.get('sha256');
    if (u.origin === base.origin && u.pathname.startsWith(base.pathname) && hash && !wanted.has(hash)) {
      if (await cache.delete(req)) removed++;
    }
  }
  return removed;
}

/** JSON that the pipeline reads as text (configs, tokenizer). */
export function decodeText(bytes: Uint8Array): string {
  return new TextDecoder('utf-8', { fatal: false }).decode(bytes);
}
