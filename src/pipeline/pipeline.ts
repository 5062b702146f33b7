/**
 * Prompt → image: tokenize, encode, sample with the chosen UNet's recipe, decode. Plain TypeScript on
 * the Runtime interface; the worker owns the instance. Files are read through files.ts, so every byte a
 * session sees was size- and hash-checked first (manifest bundles).
 */

import type { BackendInfo } from './backend';
import {
  assertNever,
  BundleFormatError,
  describeRecipe,
  dirOf,
  joinPath,
  tokenizerFiles,
  type BundleSpec,
  type FileRecord,
  type Recipe,
  type UnetRole,
  type UnetSpec,
} from './bundle';
import { alphasCumprod, sampleDdim, type EpsModel } from './ddim';
import { sampleDpmSolver } from './dpmSolver';
import { clipTokenizerJson } from './clipTokenizer';
import { InputError, isAbortError, ModelError } from './errors';
import { BundleFileError, decodeText, readUnverifiedFile, readVerifiedFile, type FileIo, type FileProgress } from './files';
import { floatsToHalf, halfToFloats } from './half';
import { sampleToRgba, type RgbaImage } from './image';
import { parsePythonJson } from './json';
import { isValidSeed, gaussianNoise, MAX_SEED } from './noise';
import { externalDataFiles } from './onnxExternalData';
import type { ExternalData, InputMeta, ModelSession, Runtime, TensorValue } from './runtime';
import { closedVocabularyText } from './promptCheck';
import type { GrammarClasses } from './grammar';
import { createTokenizer, tokenizeForModel, type PromptTokenizer } from './tokenizer';

export type StepCount = 1 | 2 | 3;

export interface GenerateParams {
  prompt: string;
  seed: number;
  model: UnetRole;
  /** flash step count; the teacher uses its own recipe */
  steps: StepCount;
  /** applies to DDIM recipes; DPM-Solver++ has no noise-corrected variant */
  noiseCorrection: boolean;
}

export type Stage = 'load' | 'tokenize' | 'encode' | 'unet' | 'decode';

export interface StageTiming {
  stage: Stage;
  label: string;
  ms: number;
}

export interface LoadProgress extends FileProgress {
  /** bytes of all files of this load so far */
  bytesDone: number;
  /** null when some file's size is unknown (unverified folders without Content-Length) */
  bytesTotal: number | null;
}

export interface StepProgress {
  index: number;
  total: number;
  t: number;
}

/**
 * Where one generation's time went, for the benchmark (the UI shows `timings`). Measured in the worker:
 * `sessionRunMs` is the part onnxruntime spends; the rest of `totalMs` is our own overhead.
 */
export interface GenerateProfile {
  /** generate() from tokenizing to the RGBA image, without loading */
  totalMs: number;
  /** Σ session.run over every model call of this generation */
  sessionRunMs: number;
  textEncoderRunMs: number;
  /** per UNet step: Σ session.run of that step (two with CFG when the UNet takes batch 1 only) */
  unetRunMs: number[];
  vaeRunMs: number;
  /** the sampler's own arithmetic between ε-model calls */
  schedulerMs: number;
}

export interface GenerateOutput {
  image: RgbaImage;
  timings: StageTiming[];
  profile: GenerateProfile;
  tokenCount: number;
  truncated: boolean;
  unetId: string;
  recipe: string;
  noiseCorrection: boolean;
}

export interface UnetSummary {
  id: string;
  /** the graph's path in the bundle, as file errors name it */
  file: string;
  role: UnetRole;
  steps: number;
  label: string;
}

export interface BundleSummary {
  name: string;
  baseUrl: string;
  source: BundleSpec['source'];
  verified: boolean;
  imageSize: [number, number];
  latentShape: [number, number, number];
  contextLength: number;
  unets: UnetSummary[];
  vocabulary: string[] | null;
  /** the word classes of the ShapeScenes grammar, for prompt help on the page; absent or null: none */
  grammar?: GrammarClasses | null;
}

export interface RunOptions {
  signal?: AbortSignal;
  onProgress?: (p: LoadProgress) => void;
  onStep?: (p: StepProgress) => void;
  /**
   * Awaited before each UNet step and before decoding: where the caller's event loop may run, so that an abort
   * requested meanwhile is seen. (A WASM session.run resolves through microtasks only and gives it no chance.)
   */
  yieldToEvents?: () => Promise<void>;
}

const now = (): number => performance.now();

/** Adds the wall time of each session.run to the bucket the caller names. */
type RunMeter = (ms: number) => void;

async function meteredRun(session: ModelSession, feeds: Record<string, TensorValue>, meter: RunMeter): Promise<Record<string, TensorValue>> {
  const t0 = now();
  const out = await session.run(feeds);
  meter(now() - t0);
  return out;
}

function checkAbort(signal: AbortSignal | undefined): void {
  signal?.throwIfAborted();
}

function meta(session: ModelSession, name: string): InputMeta {
  const m = session.inputs.find((i) => i.name === name);
  if (!m) throw new ModelError(session.file, `has no input "${name}" (inputs: ${session.inputs.map((i) => i.name).join(', ')})`);
  return m;
}

function outputName(session: ModelSession, preferred: string): string {
  return session.outputs.find((o) => o.name === preferred)?.name ?? session.outputs[0]?.name ?? preferred;
}

function fixedDim(m: InputMeta, axis: number): number | null {
  const d = m.shape?.[axis];
  return typeof d === 'number' && d > 0 ? d : null;
}

function floatTensor(m: InputMeta, file: string, data: Float32Array, dims: number[]): TensorValue {
  if (m.type === 'float32') return { type: 'float32', data, dims };
  if (m.type === 'float16') return { type: 'float16', data: floatsToHalf(data), dims };
  throw new ModelError(file, `input "${m.name}" has type ${m.type}; float32 or float16 expected`);
}

function intTensor(m: InputMeta, file: string, values: readonly number[], dims: number[]): TensorValue {
  if (m.type === 'int64') return { type: 'int64', data: BigInt64Array.from(values, (v) => BigInt(v)), dims };
  if (m.type === 'int32') return { type: 'int32', data: Int32Array.from(values), dims };
  throw new ModelError(file, `input "${m.name}" has type ${m.type}; int64 or int32 expected`);
}

/** A timestep in whatever type the UNet declares (float32 for ours, int64 for optimum exports). */
function timestepTensor(m: InputMeta, file: string, t: number, batch: number): TensorValue {
  const values = Array<number>(batch).fill(t);
  switch (m.type) {
    case 'float32':
    case 'float16':
      return floatTensor(m, file, Float32Array.from(values), [batch]);
    case 'int64':
    case 'int32':
      return intTensor(m, file, values, [batch]);
    default:
      throw new ModelError(file, `input "timestep" has unsupported type ${m.type}`);
  }
}

function asFloats(v: TensorValue | undefined, file: string, name: string): Float32Array {
  if (!v) throw new ModelError(file, `produced no output "${name}"`);
  switch (v.type) {
    case 'float32':
      return v.data;
    case 'float16':
      return halfToFloats(v.data);
    case 'int64':
    case 'int32':
      throw new ModelError(file, `output "${name}" is ${v.type}; a float tensor was expected`);
    default:
      return assertNever(v);
  }
}

function repeat(x: Float32Array, times: number): Float32Array {
  const out = new Float32Array(x.length * times);
  for (let i = 0; i < times; i++) out.set(x, i * x.length);
  return out;
}

export class Pipeline {
  private readonly sessions = new Map<string, Promise<ModelSession>>();
  private tokenizer: Promise<PromptTokenizer> | null = null;
  private uncond: Promise<Float32Array> | null = null;
  private readonly records: Map<string, FileRecord> | null;
  private readonly ac: Float64Array;

  constructor(
    readonly spec: BundleSpec,
    private readonly io: FileIo,
    private runtime: Runtime,
  ) {
    this.records = spec.files ? new Map(spec.files.map((r) => [r.path, r])) : null;
    this.ac = alphasCumprod(spec.schedule);
  }

  get backend(): BackendInfo {
    return this.runtime.backend;
  }

  get lost(): Promise<string> {
    return this.runtime.lost;
  }

  summary(): BundleSummary {
    const s = this.spec;
    return {
      name: s.name,
      baseUrl: s.baseUrl,
      source: s.source,
      verified: s.files !== null,
      imageSize: s.imageSize,
      latentShape: s.latentShape,
      contextLength: s.contextLength,
      unets: s.unets.map((u) => ({ id: u.id, file: u.path, role: u.role, steps: u.recipe.timesteps.length, label: describeRecipe(u.recipe) })),
      vocabulary: s.vocabulary?.words ?? null,
      grammar: s.vocabulary?.grammar ?? null,
    };
  }

  /** Drops every session: the next generation recreates them on `runtime` (e.g. WASM after a lost GPU). */
  async switchRuntime(runtime: Runtime): Promise<void> {
    const old = [...this.sessions.values()];
    this.sessions.clear();
    this.uncond = null;
    this.runtime = runtime;
    await Promise.all(old.map((p) => p.then((s) => s.release()).catch(() => undefined)));
  }

  async dispose(): Promise<void> {
    await this.switchRuntime(this.runtime);
  }

  /** The UNet and recipe that serve `params`. */
  resolve(params: Pick<GenerateParams, 'model' | 'steps' | 'noiseCorrection'>): { unet: UnetSpec; recipe: Recipe } {
    const { unets } = this.spec;
    const unet =
      params.model === 'teacher'
        ? unets.find((u) => u.role === 'teacher')
        : (unets.find((u) => u.id === `flash-${params.steps}`) ??
          unets.find((u) => u.role === 'flash' && u.recipe.timesteps.length === params.steps));
    if (!unet) {
      const what = params.model === 'teacher' ? 'Teacher model' : `${params.steps}-step Flash model`;
      throw new InputError(`This bundle has no ${what}.`);
    }
    const recipe: Recipe = unet.recipe.sampler === 'ddim' ? { ...unet.recipe, noiseCorrection: params.noiseCorrection } : unet.recipe;
    return { unet, recipe };
  }

  private async readFile(path: string, opts: { signal?: AbortSignal; onProgress?: (p: FileProgress) => void }): Promise<Uint8Array> {
    if (!this.records) return readUnverifiedFile(this.io, this.spec.baseUrl, path, opts);
    const record = this.records.get(path);
    if (!record) throw new BundleFormatError('manifest.json', `"files" has no size and sha256 for ${path}`);
    return readVerifiedFile(this.io, this.spec.baseUrl, record, opts);
  }

  /** Reads (and verifies) the files behind `paths` that are not loaded yet, with one progress total. A file whose
   * failure `spare` accepts is left out of the result instead of failing the whole read. */
  private async readAll(paths: string[], opts: RunOptions, spare: (path: string, err: unknown) => boolean = () => false): Promise<Map<string, Uint8Array>> {
    const sizes = paths.map((p) => this.records?.get(p)?.bytes ?? null);
    const bytesTotal = sizes.every((s): s is number => s !== null) ? sizes.reduce((a, b) => a + b, 0) : null;
    const loaded = new Map<string, number>();
    const out = new Map<string, Uint8Array>();
    for (const path of paths) {
      checkAbort(opts.signal);
      try {
        const bytes = await this.readFile(path, {
          signal: opts.signal,
          onProgress: (p) => {
            loaded.set(path, p.loaded);
            const bytesDone = [...loaded.values()].reduce((a, b) => a + b, 0);
            opts.onProgress?.({ ...p, bytesDone, bytesTotal });
          },
        });
        out.set(path, bytes);
      } catch (err) {
        if (!spare(path, err)) throw err;
      }
    }
    return out;
  }

  private session(path: string, bytes: Uint8Array | undefined, externalData: readonly ExternalData[] = []): Promise<ModelSession> {
    const existing = this.sessions.get(path);
    if (existing) return existing;
    if (!bytes) throw new Error(`internal: ${path} was not read`);
    const created = this.runtime.createSession(bytes, path, externalData).catch((err: unknown) => {
      this.sessions.delete(path);
      throw new ModelError(path, `onnxruntime-web could not load it on ${this.runtime.backend.kind.toUpperCase()} (${err instanceof Error ? err.message : String(err)})`);
    });
    this.sessions.set(path, created);
    return created;
  }

  /** tokenizer.json, or for a standard folder without one, CLIP's vocab.json + merges.txt. */
  private async loadTokenizer(opts: RunOptions): Promise<PromptTokenizer> {
    const tok = tokenizerFiles(this.spec);
    const text = async (path: string): Promise<string> => decodeText(await this.readFile(path, { signal: opts.signal }));
    const json = async (path: string): Promise<unknown> => {
      try {
        return parsePythonJson(await text(path));
      } catch (err) {
        if (err instanceof BundleFileError || isAbortError(err)) throw err;
        throw new BundleFormatError(path, 'is not valid JSON');
      }
    };
    const config = await json(tok.config);
    let tokenizerJson: unknown;
    try {
      tokenizerJson = await json(tok.json);
    } catch (err) {
      const missing = err instanceof BundleFileError && err.reason.includes('HTTP 404');
      if (!missing || this.records) throw err;
      const dir = this.spec.tokenizer;
      tokenizerJson = clipTokenizerJson(await json(joinPath(dir, 'vocab.json')), await text(joinPath(dir, 'merges.txt')), config, dir);
    }
    return createTokenizer(tokenizerJson, config, tok.json);
  }

  /**
   * Loads the tokenizer, text encoder, VAE decoder and the UNets of `unetIds` (all files first, then sessions);
   * resolves to whether anything had to be loaded. Given `failures`, a UNet that fails (its file corrupt or
   * missing, its graph unusable) is recorded there by id and the rest still loads; a failed shared part always throws.
   */
  async prepare(unetIds: readonly string[], opts: RunOptions = {}, failures?: Map<string, unknown>): Promise<boolean> {
    const spec = this.spec;
    const owner = new Map<string, string>();
    const unetPaths = unetIds.map((id) => {
      const u = spec.unets.find((x) => x.id === id);
      if (!u) throw new InputError(`This bundle has no model "${id}".`);
      owner.set(u.path, id);
      return u.path;
    });
    const failed = new Set<string>();
    const spare = (path: string, err: unknown): boolean => {
      const id = owner.get(path);
      if (!failures || id === undefined || isAbortError(err)) return false;
      failures.set(id, err);
      failed.add(path);
      return true;
    };
    const loadsTokenizer = !this.tokenizer;
    if (loadsTokenizer) {
      const loading = this.loadTokenizer(opts);
      this.tokenizer = loading;
      loading.catch(() => {
        if (this.tokenizer === loading) this.tokenizer = null;
      });
      await loading;
    }
    const wanted = [...new Set([spec.textEncoder, spec.vaeDecoder, ...unetPaths])].filter((p) => !this.sessions.has(p));
    if (wanted.length === 0) return loadsTokenizer;
    const bytes = await this.readAll(wanted, opts, spare);
    // weights kept beside a graph (ONNX external data, as in optimum's exports of models over 2 GB)
    const read = wanted.filter((p) => !failed.has(p));
    const refs = new Map(read.map((path) => [path, externalDataFiles(bytes.get(path) ?? new Uint8Array(), path).map((name) => ({ name, file: joinPath(dirOf(path), name) }))]));
    const graphOf = new Map([...refs].flatMap(([path, rs]) => rs.map((r) => [r.file, path] as const)));
    const externalBytes = await this.readAll([...graphOf.keys()], opts, (file, err) => spare(graphOf.get(file) ?? file, err));
    for (const path of read) {
      checkAbort(opts.signal);
      if (failed.has(path)) continue;
      try {
        const data = (refs.get(path) ?? []).map((r) => ({ path: r.name, data: externalBytes.get(r.file) as Uint8Array }));
        const session = await this.session(path, bytes.get(path), data);
        this.checkSession(path, session);
      } catch (err) {
        // a session that fails its checks must not serve later runs: the next one recreates it and says why again
        this.dropSession(path);
        if (!spare(path, err)) throw err;
      }
    }
    return true;
  }

  private dropSession(path: string): void {
    const s = this.sessions.get(path);
    this.sessions.delete(path);
    void s?.then((x) => x.release()).catch(() => undefined);
  }

  /** Shapes and dtypes as the sessions report them: checked against the manifest, or adopted for a standard folder. */
  private checkSession(path: string, s: ModelSession): void {
    const spec = this.spec;
    const derived = spec.source === 'diffusers';
    if (path === spec.textEncoder) {
      meta(s, 'input_ids');
      return;
    }
    if (path === spec.vaeDecoder) {
      const out = s.outputs[0];
      const [h, w] = [out ? fixedDim(out, 2) : null, out ? fixedDim(out, 3) : null];
      if (h && w && (h !== spec.imageSize[0] || w !== spec.imageSize[1])) {
        if (!derived) throw new ModelError(path, `decodes ${h}×${w} images; manifest.json says image_size [${spec.imageSize.join(', ')}]`);
        spec.imageSize = [h, w];
      }
      return;
    }
    const sample = meta(s, 'sample');
    meta(s, 'timestep');
    meta(s, 'encoder_hidden_states');
    const dims = [1, 2, 3].map((a) => fixedDim(sample, a));
    dims.forEach((d, i) => {
      if (d === null || d === spec.latentShape[i]) return;
      if (!derived) {
        throw new ModelError(path, `input "sample" is [${sample.shape?.join(', ')}]; manifest.json says latent_shape [${spec.latentShape.join(', ')}]`);
      }
      spec.latentShape[i] = d;
    });
    if (sample.type === 'float16' && !(this.runtime.backend.kind === 'webgpu' && this.runtime.backend.shaderF16)) {
      throw new ModelError(path, 'computes in float16, which needs WebGPU with shader-f16; this browser runs it in fp32 only');
    }
  }

  /** One prompt's hidden states (batch 1: CFG's empty prompt comes from encodeUncond). */
  private async encode(ids: number[], meter: RunMeter): Promise<Float32Array> {
    const s = await this.session(this.spec.textEncoder, undefined);
    const m = meta(s, 'input_ids');
    const out = outputName(s, 'last_hidden_state');
    const res = await meteredRun(s, { [m.name]: intTensor(m, s.file, ids, [1, this.spec.contextLength]) }, meter);
    return asFloats(res[out], s.file, out);
  }

  /** The empty prompt's hidden states for CFG: the same for every generation, so encoded once. */
  private encodeUncond(ids: number[], meter: RunMeter): Promise<Float32Array> {
    if (!this.uncond) {
      const encoding = this.encode(ids, meter);
      this.uncond = encoding;
      encoding.catch(() => {
        if (this.uncond === encoding) this.uncond = null;
      });
    }
    return this.uncond;
  }

  /** ε̂(x, t) from `unet`, with classifier-free guidance ε̂_u + w·(ε̂_c − ε̂_u) when `uncondCond` holds both. */
  private epsModel(session: ModelSession, embeddings: Float32Array, rows: number, guidance: number, meter: RunMeter): EpsModel {
    const sample = meta(session, 'sample');
    const tMeta = meta(session, 'timestep');
    const ehs = meta(session, 'encoder_hidden_states');
    const out = outputName(session, 'out_sample');
    const [c, h, w] = this.spec.latentShape;
    const perRow = embeddings.length / rows;
    const hidden = perRow / this.spec.contextLength;
    const oneAtATime = fixedDim(sample, 0) === 1 && rows > 1;
    const run = async (x: Float32Array, t: number, b: number, emb: Float32Array): Promise<Float32Array> => {
      const res = await meteredRun(
        session,
        {
          [sample.name]: floatTensor(sample, session.file, repeat(x, b), [b, c, h, w]),
          [tMeta.name]: timestepTensor(tMeta, session.file, t, b),
          [ehs.name]: floatTensor(ehs, session.file, emb, [b, this.spec.contextLength, hidden]),
        },
        meter,
      );
      return asFloats(res[out], session.file, out);
    };
    return async (x, t) => {
      let eps: Float32Array;
      if (rows === 1) return run(x, t, 1, embeddings);
      if (oneAtATime) {
        const eu = await run(x, t, 1, embeddings.subarray(0, perRow));
        const ec = await run(x, t, 1, embeddings.subarray(perRow));
        eps = new Float32Array(eu.length + ec.length);
        eps.set(eu);
        eps.set(ec, eu.length);
      } else {
        eps = await run(x, t, 2, embeddings);
      }
      const n = x.length;
      const guided = new Float32Array(n);
      for (let i = 0; i < n; i++) {
        const u = eps[i] as number;
        guided[i] = u + guidance * ((eps[n + i] as number) - u);
      }
      return guided;
    };
  }

  async generate(params: GenerateParams, opts: RunOptions = {}): Promise<GenerateOutput> {
    const prompt = params.prompt.trim();
    if (prompt === '') throw new InputError('Enter a prompt first.');
    if (!isValidSeed(params.seed)) throw new InputError(`Seed must be a whole number from 0 to ${MAX_SEED}.`);
    // a bundle with a vocabulary reads the prompt the way it was trained to (promptCheck.ts); an SD folder, as typed
    const text = this.spec.vocabulary ? closedVocabularyText(prompt, this.spec.vocabulary) : prompt;
    const { unet, recipe } = this.resolve(params);
    const timings: StageTiming[] = [];
    const time = async <T>(stage: Stage, label: string, fn: () => Promise<T> | T): Promise<T> => {
      checkAbort(opts.signal);
      const t0 = now();
      const v = await fn();
      timings.push({ stage, label, ms: now() - t0 });
      return v;
    };

    // a load row only when this run loaded something: whether the page shows the row must not depend on timing
    const loadStart = now();
    const loaded = await this.prepare([unet.id], opts);
    if (loaded) timings.push({ stage: 'load', label: 'load', ms: now() - loadStart });

    const startMs = now();
    const runs = { textEncoder: 0, unet: [] as number[], vae: 0 };
    const tokenizer = await (this.tokenizer ?? Promise.reject(new Error('internal: tokenizer not loaded')));
    const ctx = this.spec.contextLength;
    const cfg = recipe.guidanceScale > 1;
    const toks = await time('tokenize', 'tokenize', () => {
      const cond = tokenizeForModel(tokenizer, text, ctx);
      return { cond, uncond: cfg ? tokenizeForModel(tokenizer, '', ctx) : null };
    });
    const rows = toks.uncond ? [toks.uncond.ids, toks.cond.ids] : [toks.cond.ids];
    const embeddings = await time('encode', 'encode', async () => {
      const meter: RunMeter = (ms) => (runs.textEncoder += ms);
      const cond = await this.encode(toks.cond.ids, meter);
      if (!toks.uncond) return cond;
      const uncond = await this.encodeUncond(toks.uncond.ids, meter);
      const both = new Float32Array(uncond.length + cond.length);
      both.set(uncond);
      both.set(cond, uncond.length);
      return both;
    });

    const [c, h, w] = this.spec.latentShape;
    const xT = gaussianNoise(params.seed, c * h * w);
    const session = await this.session(unet.path, undefined);
    const eps = this.epsModel(session, embeddings, rows.length, recipe.guidanceScale, (ms) => {
      runs.unet[runs.unet.length - 1] = (runs.unet.at(-1) ?? 0) + ms;
    });
    const total = recipe.timesteps.length;
    let step = 0;
    let epsMs = 0;
    let yieldMs = 0;
    const yieldToEvents = async (): Promise<void> => {
      const t0 = now();
      await opts.yieldToEvents?.();
      yieldMs += now() - t0;
      checkAbort(opts.signal);
    };
    const timedEps: EpsModel = async (x, t) => {
      await yieldToEvents();
      const i = step++;
      opts.onStep?.({ index: i, total, t });
      runs.unet.push(0);
      const t0 = now();
      const e = await time('unet', `step ${i + 1} (t=${t})`, () => eps(x, t));
      epsMs += now() - t0;
      return e;
    };
    const sampleStart = now();
    const x0 = await this.sample(recipe, timedEps, xT);
    const schedulerMs = now() - sampleStart - epsMs - yieldMs;
    await yieldToEvents();

    const image = await time('decode', 'decode', async () => {
      const vae = await this.session(this.spec.vaeDecoder, undefined);
      const m = meta(vae, 'latent_sample');
      const scaled = x0.map((v) => v / this.spec.vaeScalingFactor);
      const out = outputName(vae, 'sample');
      const res = await meteredRun(vae, { [m.name]: floatTensor(m, vae.file, scaled, [1, c, h, w]) }, (ms) => (runs.vae += ms));
      const value = res[out];
      const [H, W] = value?.dims.length === 4 ? [value.dims[2] as number, value.dims[3] as number] : this.spec.imageSize;
      return sampleToRgba(asFloats(value, vae.file, out), H, W);
    });
    const unetRunMs = runs.unet.reduce((a, b) => a + b, 0);
    const profile: GenerateProfile = {
      totalMs: now() - startMs,
      sessionRunMs: runs.textEncoder + unetRunMs + runs.vae,
      textEncoderRunMs: runs.textEncoder,
      unetRunMs: runs.unet,
      vaeRunMs: runs.vae,
      schedulerMs,
    };
    return {
      image,
      timings,
      profile,
      tokenCount: toks.cond.tokenCount,
      truncated: toks.cond.truncated,
      unetId: unet.id,
      recipe: describeRecipe(recipe),
      noiseCorrection: recipe.sampler === 'ddim' && recipe.noiseCorrection,
    };
  }

  private sample(recipe: Recipe, model: EpsModel, xT: Float32Array): Promise<Float32Array> {
    switch (recipe.sampler) {
      case 'ddim':
        return sampleDdim(model, xT, recipe.timesteps, { alphasCumprod: this.ac, noiseCorrection: recipe.noiseCorrection });
      case 'dpmsolver++':
        return sampleDpmSolver(model, xT, recipe.timesteps, { alphasCumprod: this.ac, solverOrder: recipe.solverOrder });
      default:
        return assertNever(recipe);
    }
  }
}
