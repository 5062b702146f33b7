/**
 * Messages between the page and the inference worker. Every request carries an id; every event the worker
 * sends about a request carries the same id; each request ends in exactly one `result` with ok true/false.
 */

import type { BackendInfo, BackendPreference } from '../pipeline/backend';
import type { DecoderChoice, UnetRole } from '../pipeline/bundle';
import type { BundleSummary, GenerateOutput, LoadProgress, StepCount, StepProgress } from '../pipeline/pipeline';
import type { OpenOptions } from '../pipeline/sdFolder';

export interface Variant {
  model: UnetRole;
  steps: StepCount;
  noiseCorrection: boolean;
  /** 'tiny': the bundle's tiny VAE decoder (BundleSummary.tinyDecoder); absent: the full one */
  decoder?: DecoderChoice;
}

export type WorkerRequest =
  /** `warm`: the variant whose UNet is loaded with the shared parts (others load when first used); `options`: how a standard folder is opened */
  | { id: number; type: 'load'; bundleUrl: string; backend: BackendPreference; warm: Variant; options?: OpenOptions }
  /** one job, several images (the step comparison); a newer generate or grid supersedes it */
  | { id: number; type: 'generate'; prompt: string; seed: number; variants: Variant[] }
  /** one image per seed of one prompt and variant (the seed grid), batched where the graphs allow; superseded as a generate is */
  | { id: number; type: 'grid'; prompt: string; seeds: number[]; variant: Variant }
  | { id: number; type: 'cancel'; target: number }
  /** diagnostics for tests (?debug): destroy the WebGPU device as a driver reset would */
  | { id: number; type: 'debug'; action: 'lose-device' };

export type WorkerError =
  | { kind: 'cancelled'; message: string }
  | { kind: 'input'; message: string }
  | { kind: 'vocabulary'; message: string; unknown: string[]; suggestions: Record<string, string>; known: string[] }
  | { kind: 'file'; message: string; file: string }
  | { kind: 'model'; message: string; file: string }
  | { kind: 'internal'; message: string };

/** A UNet of a loaded bundle that could not be prepared (a corrupt or missing file): the rest of the bundle works. */
export interface UnetFailure {
  unetId: string;
  error: WorkerError;
}

export interface LoadDone {
  bundle: BundleSummary;
  backend: BackendInfo;
  ms: number;
  /** the warm UNet, when it failed while the shared parts loaded */
  unetFailures: UnetFailure[];
}

export interface GenerateDone {
  /** images made; in a comparison, the variants that failed were reported by `variant-error` events */
  images: number;
}

export interface GridDone {
  images: number;
  /** false: the graphs fix their batch at 1, so the seeds ran one after another */
  batched: boolean;
}

export type WorkerResult =
  | { id: number; type: 'result'; request: 'load'; ok: true; value: LoadDone }
  | { id: number; type: 'result'; request: 'generate'; ok: true; value: GenerateDone }
  | { id: number; type: 'result'; request: 'grid'; ok: true; value: GridDone }
  | { id: number; type: 'result'; request: 'cancel'; ok: true; value: { cancelled: boolean } }
  | { id: number; type: 'result'; request: 'debug'; ok: true; value: { done: boolean } }
  | { id: number; type: 'result'; request: WorkerRequest['type']; ok: false; error: WorkerError };

export type WorkerEvent =
  | { id: number; type: 'progress'; progress: LoadProgress }
  | { id: number; type: 'step'; variant: number; step: StepProgress }
  /** `variant`: the image's index in its job (a comparison's variant, a grid's seed) */
  | { id: number; type: 'image'; variant: number; output: GenerateOutput }
  /** one variant of a comparison failed (its file or model); the job goes on with the others */
  | { id: number; type: 'variant-error'; variant: number; error: WorkerError }
  /** the backend changed under a running request (a lost WebGPU device → WASM) */
  | { id: number; type: 'backend'; backend: BackendInfo; reason: string }
  | WorkerResult;
