/** FileIo over the repository's fixtures for tests in Node: URLs under http://test/models/ map to tests/fixtures/. */
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { resolve } from 'node:path';
import type { FileIo } from '../../../src/pipeline/files';

export const FIXTURES = resolve(import.meta.dirname, '../../fixtures');
export const BASE = 'http://test/models/';

export interface NodeIoOptions {
  /** replaces a file's bytes (path relative to tests/fixtures) */
  alter?: Record<string, (bytes: Uint8Array) => Uint8Array>;
  caches?: CacheStorage | null;
  /** every URL fetched, in order */
  log?: string[];
}

export function nodeIo(opts: NodeIoOptions = {}): FileIo {
  const fetchFn = async (input: RequestInfo | URL): Promise<Response> => {
    const url = new URL(typeof input === 'string' ? input : input instanceof URL ? input.href : input.url);
    opts.log?.push(url.pathname);
    const rel = decodeURIComponent(url.pathname.replace(/^\/models\//, ''));
    const file = resolve(FIXTURES, rel);
    if (!file.startsWith(FIXTURES) || !existsSync(file) || !statSync(file).isFile()) {
      return new Response('Not found', { status: 404 });
    }
    const alter = opts.alter?.[rel];
    const raw = new Uint8Array(readFileSync(file));
    const bytes = alter ? alter(raw) : raw;
    return new Response(bytes as Uint8Array<ArrayBuffer>, { status: 200, headers: { 'Content-Length': String(bytes.byteLength) } });
  };
  return {
    fetch: fetchFn as typeof fetch,
    caches: opts.caches ?? null,
    sha256: async (bytes) => createHash('sha256').update(bytes).digest('hex'),
  };
}

/** An in-memory CacheStorage with the subset files.ts uses. */
export function memoryCaches(): CacheStorage & { store: Map<string, Uint8Array> } {
  const store = new Map<string, Uint8Array>();
  const cache = {
    async match(key: RequestInfo | URL) {
      const b = store.get(String(key));
      return b ? new Response(b.slice() as Uint8Array<ArrayBuffer>) : undefined;
    },
    async put(key: RequestInfo | URL, res: Response) {
      store.set(String(key), new Uint8Array(await res.arrayBuffer()));
    },
    async delete(key: RequestInfo | URL) {
      return store.delete(typeof key === 'object' && 'url' in key ? key.url : String(key));
    },
    async keys() {
      return [...store.keys()].map((k) => new Request(k));
    },
  };
  const storage = {
    store,
    async open() {
      return cache as unknown as Cache;
    },
  };
  return storage as unknown as CacheStorage & { store: Map<string, Uint8Array> };
}

export function fixtureBytes(rel: string): Uint8Array {
  return new Uint8Array(readFileSync(resolve(FIXTURES, rel)));
}
