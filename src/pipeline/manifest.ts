/**
 * manifest.json (format_version 1, written by distill/export/export.py) → BundleSpec. Validation is strict and
 * names the offending field: a bundle that passes here can only fail later on a file's bytes.
 */

import type { NoiseSchedule } from './ddim';
import {
  BundleFormatError,
  isSafeRelativePath,
  T_MAX,
  tokenizerFiles,
  type BundleSpec,
  type FileRecord,
  type Recipe,
  type UnetSpec,
  type Vocabulary,
} from './bundle';
import type { GrammarClasses } from './grammar';

export const MANIFEST_FILE = 'manifest.json';
export const SUPPORTED_FORMAT_VERSION = 1;

type Json = Record<string, unknown>;

/** Field readers that throw BundleFormatError naming `file` and the JSON path. */
export class Fields {
  constructor(
    readonly file: string,
    private readonly obj: Json,
    private readonly at: string = '',
  ) {}

  private where(key: string): string {
    return this.at ? `${this.at}.${key}` : key;
  }

  fail(key: string, message: string): never {
    throw new BundleFormatError(this.file, `"${this.where(key)}" ${message}`);
  }

  has(key: string): boolean {
    return this.obj[key] !== undefined && this.obj[key] !== null;
  }

  raw(key: string): unknown {
    return this.obj[key];
  }

  string(key: string): string {
    const v = this.obj[key];
    if (typeof v !== 'string' || v === '') this.fail(key, 'must be a non-empty string');
    return v;
  }

  path(key: string): string {
    const v = this.string(key);
    if (!isSafeRelativePath(v)) this.fail(key, `is not a relative path inside the bundle: ${JSON.stringify(v)}`);
    return v;
  }

  number(key: string, min = -Infinity): number {
    const v = this.obj[key];
    if (typeof v !== 'number' || !Number.isFinite(v) || v < min) this.fail(key, `must be a number ≥ ${min}`);
    return v;
  }

  int(key: string, min = 0): number {
    const v = this.number(key, min);
    if (!Number.isInteger(v)) this.fail(key, 'must be an integer');
    return v;
  }

  bool(key: string): boolean {
    const v = this.obj[key];
    if (typeof v !== 'boolean') this.fail(key, 'must be true or false');
    return v;
  }

  ints(key: string, length?: number): number[] {
    const v = this.obj[key];
    const ok = Array.isArray(v) && v.every((x) => Number.isInteger(x) && (x as number) > 0);
    if (!ok || (length !== undefined && v.length !== length)) {
      this.fail(key, `must be a list of ${length ?? 'some'} positive integers`);
    }
    return v as number[];
  }

  strings(key: string): string[] {
    const v = this.obj[key];
    if (!Array.isArray(v) || !v.every((x) => typeof x === 'string' && x !== '')) this.fail(key, 'must be a list of strings');
    return v as string[];
  }

  object(key: string): Fields {
    const v = this.obj[key];
    if (!isRecord(v)) this.fail(key, 'must be an object');
    return new Fields(this.file, v, this.where(key));
  }

  list(key: string): Fields[] {
    const v = this.obj[key];
    if (!Array.isArray(v) || v.length === 0) this.fail(key, 'must be a non-empty list');
    return v.map((item, i) => {
      if (!isRecord(item)) this.fail(`${key}[${i}]`, 'must be an object');
      return new Fields(this.file, item, this.where(`${key}[${i}]`));
    });
  }
}

function parseTimesteps(f: Fields): number[] {
  const ts = f.raw('timesteps');
  const ok =
    Array.isArray(ts) &&
    ts.length > 0 &&
    ts.every((t, i) => Number.isInteger(t) && t >= 0 && t <= T_MAX && (i === 0 || (t as number) < (ts[i - 1] as number)));
  if (!ok) f.fail('timesteps', `must be a non-empty, strictly decreasing list of integers in [0, ${T_MAX}]`);
  return ts as number[];
}

export function parseRecipe(f: Fields): Recipe {
  const sampler = f.string('sampler');
  const timesteps = parseTimesteps(f);
  const guidanceScale = f.has('guidance_scale') ? f.number('guidance_scale', 0) : 1;
  switch (sampler) {
    case 'ddim':
      return { sampler, timesteps, guidanceScale, noiseCorrection: f.has('noise_correction') && f.bool('noise_correction') };
    case 'dpmsolver++': {
      const order = f.has('solver_order') ? f.int('solver_order', 1) : 2;
      if (order !== 1 && order !== 2) f.fail('solver_order', `${order} is not supported (1 or 2)`);
      if (f.has('steps') && f.int('steps', 1) !== timesteps.length) f.fail('steps', 'disagrees with the length of timesteps');
      return { sampler, timesteps, guidanceScale, solverOrder: order };
    }
    default:
      return f.fail('sampler', `"${sampler}" is not supported (ddim or dpmsolver++)`);
  }
}

function parseFiles(f: Fields): FileRecord[] {
  const seen = new Set<string>();
  return f.list('files').map((r) => {
    const path = r.path('path');
    if (seen.has(path)) r.fail('path', `lists ${path} twice`);
    seen.add(path);
    const sha256 = r.string('sha256').toLowerCase();
    if (!/^[0-9a-f]{64}$/.test(sha256)) r.fail('sha256', 'must be 64 hex digits');
    return { path, bytes: r.int('bytes', 0), sha256 };
  });
}

/** The words, and the grammar's word classes where the manifest lists them (colors and shapes at least). */
function parseVocabulary(v: Fields): Vocabulary {
  const lower = (key: string): string[] => v.strings(key).map((w) => w.toLowerCase());
  const optional = (key: string): string[] => (v.has(key) ? lower(key) : []);
  const words = lower('words');
  const grammar: GrammarClasses | null =
    v.has('colors') && v.has('shapes')
      ? { colors: lower('colors'), shapes: lower('shapes'), sizes: optional('sizes'), backgrounds: optional('backgrounds'), relations: optional('relations'), counts: optional('counts') }
      : null;
  return { words, grammar };
}

export function isRecord(v: unknown): v is Json {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** The manifest names the scheduler config; its schedule is read from that file (parseSchedulerConfig). */
export interface ParsedManifest {
  spec: Omit<BundleSpec, 'schedule'>;
  schedulerConfig: string;
}

export function parseManifest(json: unknown, baseUrl: string): ParsedManifest {
  if (!isRecord(json)) throw new BundleFormatError(MANIFEST_FILE, 'is not a JSON object');
  const f = new Fields(MANIFEST_FILE, json);
  const version = f.int('format_version', 0);
  if (version !== SUPPORTED_FORMAT_VERSION) {
    f.fail('format_version', `is ${version}; this app reads version ${SUPPORTED_FORMAT_VERSION}`);
  }
  if (f.has('prediction_type') && f.string('prediction_type') !== 'epsilon') {
    f.fail('prediction_type', 'must be "epsilon" (the samplers here predict noise)');
  }
  const [h, w] = f.ints('image_size', 2) as [number, number];
  const latent = f.ints('latent_shape', 3) as [number, number, number];
  const files = parseFiles(f);
  const ids = new Set<string>();
  const unets = f.list('unets').map((u): UnetSpec => {
    const id = u.string('id');
    if (ids.has(id)) u.fail('id', `"${id}" is used twice`);
    ids.add(id);
    const recipe = parseRecipe(u.object('recipe'));
    const role = id === 'teacher' || recipe.sampler === 'dpmsolver++' ? 'teacher' : 'flash';
    return { id, path: u.path('path'), role, recipe };
  });
  const vocab = f.has('vocabulary') ? parseVocabulary(f.object('vocabulary')) : null;
  const spec: Omit<BundleSpec, 'schedule'> = {
    source: 'manifest',
    name: f.has('name') ? f.string('name') : baseUrl,
    baseUrl,
    imageSize: [h, w],
    latentShape: latent,
    vaeScalingFactor: f.number('vae_scaling_factor', Number.MIN_VALUE),
    contextLength: f.int('context_length', 1),
    textEncoder: f.path('text_encoder'),
    vaeDecoder: f.path('vae_decoder'),
    vaeDecoderTiny: f.has('vae_decoder_tiny') ? f.path('vae_decoder_tiny') : null,
    tokenizer: f.path('tokenizer'),
    unets,
    vocabulary: vocab,
    files,
  };
  const schedulerConfig = f.path('scheduler');
  const listed = new Set(files.map((r) => r.path));
  const tok = tokenizerFiles(spec);
  const needed = [spec.textEncoder, spec.vaeDecoder, ...(spec.vaeDecoderTiny ? [spec.vaeDecoderTiny] : []), tok.json, tok.config, schedulerConfig, ...unets.map((u) => u.path)];
  for (const p of needed) {
    if (!listed.has(p)) throw new BundleFormatError(MANIFEST_FILE, `"files" has no size and sha256 for ${p}`);
  }
  return { spec, schedulerConfig };
}

/** diffusers scheduler_config.json → the training noise schedule (betas), whatever the scheduler class; our bundles predict epsilon. */
export function parseSchedulerConfig(json: unknown, file: string): NoiseSchedule {
  if (!isRecord(json)) throw new BundleFormatError(file, 'is not a JSON object');
  const f = new Fields(file, json);
  if (f.has('prediction_type') && f.string('prediction_type') !== 'epsilon') {
    f.fail('prediction_type', `"${String(f.raw('prediction_type'))}" is not supported (epsilon only)`);
  }
  return parseNoiseSchedule(f);
}

/** The betas of a scheduler config; a schedule whose ᾱ we would compute differently is refused. */
export function parseNoiseSchedule(f: Fields): NoiseSchedule {
  if (f.has('trained_betas')) f.fail('trained_betas', 'are not supported');
  if (f.has('rescale_betas_zero_snr') && f.bool('rescale_betas_zero_snr')) f.fail('rescale_betas_zero_snr', 'is true, which is not supported');
  const name = f.has('beta_schedule') ? f.string('beta_schedule') : 'linear';
  const schedule = name === 'scaled_linear' || name === 'linear' ? name : f.fail('beta_schedule', `"${name}" is not supported (scaled_linear or linear)`);
  return {
    numTrainTimesteps: f.has('num_train_timesteps') ? f.int('num_train_timesteps', 2) : 1000,
    betaStart: f.has('beta_start') ? f.number('beta_start', 0) : 0.0001,
    betaEnd: f.has('beta_end') ? f.number('beta_end', 0) : 0.02,
    betaSchedule: schedule,
  };
}
