/**
 * What the worker hands the pipeline and gets back: a request, its options and callbacks, the image with
 * its timings, and a bundle's summary for the page. Types only, so every pipeline module can share them
 * without depending on one another.
 */

import type { BundleSpec, DecoderChoice, UnetRole } from './bundle';
import type { FileProgress } from './files';
import type { GrammarClasses } from './grammar';
import type { RgbaImage } from './image';

export type StepCount = 1 | 2 | 3;

export interface GenerateParams {
  prompt: string;
  seed: number;
  model: UnetRole;
  /** flash step count; the teacher uses its own recipe */
  steps: StepCount;
  /** applies to DDIM recipes; DPM-Solver++ has no noise-corrected variant */
  noiseCorrection: boolean;
  /** 'tiny': the bundle's tiny VAE decoder where it has one (else the full one); absent: full */
  decoder?: DecoderChoice;
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
  /** the prompt's text embedding came from the embedding cache (textEncoderRunMs is then the empty prompt's, or 0); absent in records of older versions */
  embeddingCacheHit?: boolean;
  /** images made by the same model calls (a batched seed grid): every figure here is theirs together; absent: 1 */
  batch?: number;
  /** the VAE decoder that made the image (vaeRunMs is its); absent in records of older versions: full */
  decoder?: DecoderChoice;
}

/** A seed grid: one image per seed, in one batched run when the graphs take a batch, else one run per seed. */
export interface GridOutput {
  images: GenerateOutput[];
  batched: boolean;
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
  /** the bundle has a tiny VAE decoder (GenerateParams.decoder 'tiny'); absent: no */
  tinyDecoder?: boolean;
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
