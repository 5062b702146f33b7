/**
 * A pipeline's InferenceSessions by bundle path, all on one Runtime. Each is kept as a promise so that two
 * loads of one graph share its creation; one whose creation fails is forgotten, so the next load tries
 * again and names the problem again instead of repeating a stale rejection.
 */

import type { BackendInfo } from './backend';
import { ModelError } from './errors';
import type { ExternalData, ModelSession, Runtime } from './runtime';

export class SessionCache {
  private readonly sessions = new Map<string, Promise<ModelSession>>();

  constructor(private runtime: Runtime) {}

  get backend(): BackendInfo {
    return this.runtime.backend;
  }

  get lost(): Promise<string> {
    return this.runtime.lost;
  }

  has(path: string): boolean {
    return this.sessions.has(path);
  }

  /** The session of `path`: the existing one, or a new one from the graph's bytes. */
  create(path: string, bytes: Uint8Array, externalData: readonly ExternalData[]): Promise<ModelSession> {
    const existing = this.sessions.get(path);
    if (existing) return existing;
    const runtime = this.runtime;
    const created = runtime.createSession(bytes, path, externalData).catch((err: unknown) => {
      if (this.sessions.get(path) === created) this.sessions.delete(path);
      throw new ModelError(path, `onnxruntime-web could not load it on ${runtime.backend.kind.toUpperCase()} (${err instanceof Error ? err.message : String(err)})`);
    });
    this.sessions.set(path, created);
    return created;
  }

  /** A session an earlier load created; asking for one that was never loaded is a bug in the caller. */
  loaded(path: string): Promise<ModelSession> {
    const session = this.sessions.get(path);
    if (!session) throw new Error(`internal: ${path} was not read`);
    return session;
  }

  /** Forgets and releases one session, e.g. one that failed its checks and must not serve later runs. */
  drop(path: string): void {
    const s = this.sessions.get(path);
    this.sessions.delete(path);
    void s?.then((x) => x.release()).catch(() => undefined);
  }

  /** Releases every session; the next load recreates them on the same runtime. */
  async releaseAll(): Promise<void> {
    const old = [...this.sessions.values()];
    this.sessions.clear();
    await Promise.all(old.map((p) => p.then((s) => s.release()).catch(() => undefined)));
  }

  /** Releases every session: the next load recreates them on `runtime` (e.g. WASM after a lost GPU). */
  switchRuntime(runtime: Runtime): Promise<void> {
    const released = this.releaseAll();
    this.runtime = runtime;
    return released;
  }
}
