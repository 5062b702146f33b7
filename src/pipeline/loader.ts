/**
 * Everything a generation needs before it can run: the tokenizer(s), and one checked InferenceSession per
 * graph (text encoder(s), VAE decoder and the bundle's tiny one, the UNets asked for), read through the bundle's
 * verified files.
 * Also the spec as the sessions have confirmed it: a standard folder's shapes are only known once its
 * graphs are open (shapeCheck.ts), so `spec` may change with each load.
 */

import type { BackendInfo } from './backend';
import { dirOf, joinPath, type BundleSpec } from './bundle';
import { BundleReader, type Spare } from './bundleReader';
import { InputError, isAbortError } from './errors';
import type { FileIo } from './files';
import { loadTokenizer } from './loadTokenizer';
import { externalDataFiles } from './onnxExternalData';
import type { ModelSession, Runtime } from './runtime';
import { SessionCache } from './sessions';
import { checkSession } from './shapeCheck';
import type { PromptTokenizer } from './tokenizer';
import type { RunOptions } from './types';

/** The prompt tokenizer, and an SDXL folder's second one (tokenizer_2, which pads differently). */
export interface Tokenizers {
  first: PromptTokenizer;
  second: PromptTokenizer | null;
}

export class Loader {
  private current: BundleSpec;
  private readonly reader: BundleReader;
  private readonly sessions: SessionCache;
  private tokenizerLoad: Promise<Tokenizers> | null = null;

  constructor(spec: BundleSpec, io: FileIo, runtime: Runtime) {
    this.current = spec;
    this.reader = new BundleReader(io, spec.baseUrl, spec.files);
    this.sessions = new SessionCache(runtime);
  }

  get spec(): BundleSpec {
    return this.current;
  }

  get backend(): BackendInfo {
    return this.sessions.backend;
  }

  get lost(): Promise<string> {
    return this.sessions.lost;
  }

  /**
   * Loads the tokenizer, text encoder, VAE decoder(s) and the UNets of `unetIds` (all files first, then sessions);
   * resolves to whether anything had to be loaded. Given `failures`, a UNet that fails (its file corrupt or
   * missing, its graph unusable) is recorded there by id and the rest still loads; a failed shared part always
   * throws, the tiny decoder included: a bundle that lists one must have a working one.
   */
  async prepare(unetIds: readonly string[], opts: RunOptions = {}, failures?: Map<string, unknown>): Promise<boolean> {
    const owner = new Map<string, string>();
    const unetPaths = unetIds.map((id) => {
      const u = this.current.unets.find((x) => x.id === id);
      if (!u) throw new InputError(`This bundle has no model "${id}".`);
      owner.set(u.path, id);
      return u.path;
    });
    const spare: Spare = (path, err) => {
      const id = owner.get(path);
      if (!failures || id === undefined || isAbortError(err)) return false;
      failures.set(id, err);
      return true;
    };
    const loadsTokenizer = !this.tokenizerLoad;
    if (loadsTokenizer) await this.loadTokenizerOnce(opts.signal);
    const { sdxl, vaeDecoderTiny } = this.current;
    const shared = [this.current.textEncoder, ...(sdxl ? [sdxl.textEncoder2] : []), this.current.vaeDecoder, ...(vaeDecoderTiny ? [vaeDecoderTiny] : [])];
    const wanted = [...new Set([...shared, ...unetPaths])].filter((p) => !this.sessions.has(p));
    if (wanted.length === 0) return loadsTokenizer;
    await this.openSessions(wanted, opts, spare);
    return true;
  }

  /** The tokenizer(s) a prepare() loaded. */
  tokenizers(): Promise<Tokenizers> {
    return this.tokenizerLoad ?? Promise.reject(new Error('internal: tokenizer not loaded'));
  }

  /** The session of a graph a prepare() loaded. */
  session(path: string): Promise<ModelSession> {
    return this.sessions.loaded(path);
  }

  /** Drops every session: the next prepare recreates them on `runtime`. The tokenizer and the spec stay. */
  switchRuntime(runtime: Runtime): Promise<void> {
    return this.sessions.switchRuntime(runtime);
  }

  /** Releases every session; a later prepare recreates them on the same runtime. */
  releaseSessions(): Promise<void> {
    return this.sessions.releaseAll();
  }

  /** Shared by concurrent loads; forgotten when it fails, so the next load tries again. */
  private async loadTokenizerOnce(signal: AbortSignal | undefined): Promise<void> {
    const sdxl = this.current.sdxl;
    const loading = Promise.all([
      loadTokenizer(this.current, this.reader, signal),
      sdxl ? loadTokenizer({ tokenizer: sdxl.tokenizer2 }, this.reader, signal) : null,
    ]).then(([first, second]) => ({ first, second }));
    this.tokenizerLoad = loading;
    loading.catch(() => {
      if (this.tokenizerLoad === loading) this.tokenizerLoad = null;
    });
    await loading;
  }

  /**
   * Reads the graphs of `paths` and their external data, then creates and checks a session for each. A failure
   * that is not spared releases every session this call created: a folder that cannot run is not left half loaded.
   */
  private async openSessions(paths: readonly string[], opts: RunOptions, spare: Spare): Promise<void> {
    const created: string[] = [];
    const before = this.current;
    try {
      await this.openEach(paths, opts, spare, created);
    } catch (err) {
      for (const path of created) this.sessions.drop(path);
      this.current = before;
      throw err;
    }
  }

  private async openEach(paths: readonly string[], opts: RunOptions, spare: Spare, created: string[]): Promise<void> {
    const failed = new Set<string>();
    const spared: Spare = (path, err) => {
      if (!spare(path, err)) return false;
      failed.add(path);
      return true;
    };
    const graphs = await this.reader.readAll(paths, opts, spared);
    // weights kept beside a graph (ONNX external data, as in optimum's exports of models over 2 GB)
    const read = paths.filter((p) => !failed.has(p));
    const refs = new Map(read.map((path) => [path, externalDataFiles(graphs.get(path) ?? new Uint8Array(), path).map((name) => ({ name, file: joinPath(dirOf(path), name) }))]));
    const graphOf = new Map([...refs].flatMap(([path, rs]) => rs.map((r) => [r.file, path] as const)));
    const externalBytes = await this.reader.readAll([...graphOf.keys()], opts, (file, err) => spared(graphOf.get(file) ?? file, err));
    for (const path of read) {
      opts.signal?.throwIfAborted();
      if (failed.has(path)) continue;
      try {
        const graph = graphs.get(path);
        if (!graph) throw new Error(`internal: ${path} was not read`);
        const data = (refs.get(path) ?? []).map((r) => ({ path: r.name, data: externalBytes.get(r.file) as Uint8Array }));
        const session = await this.sessions.create(path, graph, data);
        this.current = checkSession(this.current, path, session, this.sessions.backend);
        created.push(path);
      } catch (err) {
        // a session that fails its checks must not serve later runs: the next one recreates it and says why again
        this.sessions.drop(path);
        if (!spared(path, err)) throw err;
      }
    }
  }
}
