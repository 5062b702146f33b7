/**
 * What the app needs to know about a model folder, whatever its layout: our bundle (manifest.json,
 * verified) or a standard diffusers/optimum Stable Diffusion ONNX export (derived, unverified).
 * See DESIGN.md, "The contract between the halves".
 */

import type { NoiseSchedule } from './ddim';
import type { GrammarClasses } from './grammar';
import type { PredictionType } from './schedulerConfig';

export type Recipe =
  | {
      sampler: 'ddim';
      timesteps: number[];
      guidanceScale: number;
      noiseCorrection: boolean;
      /** start from √(1 − ᾱ_t0)·noise instead of noise, as diffusers' Euler schedulers do (schedulerConfig.ts); absent: false */
      eulerStart?: boolean;
    }
  | { sampler: 'dpmsolver++'; timesteps: number[]; guidanceScale: number; solverOrder: 1 | 2 };

export type UnetRole = 'flash' | 'teacher';

export interface UnetSpec {
  id: string;
  /** path of the ONNX file inside the bundle; several recipes may share one file */
  path: string;
  role: UnetRole;
  recipe: Recipe;
}

export interface FileRecord {
  path: string;
  bytes: number;
  sha256: string;
}

export interface Vocabulary {
  words: string[];
  /** the word classes of the ShapeScenes grammar; null: only the words are checked */
  grammar: GrammarClasses | null;
}

export interface BundleSpec {
  source: 'manifest' | 'diffusers';
  name: string;
  /** folder URL, ending in '/' */
  baseUrl: string;
  /** [H, W] of the decoded image */
  imageSize: [number, number];
  /** [C, h, w] of one latent */
  latentShape: [number, number, number];
  vaeScalingFactor: number;
  contextLength: number;
  textEncoder: string;
  vaeDecoder: string;
  /**
   * An optional small decoder of the same contract as vaeDecoder (latent / scaling factor in, image in [-1, 1] out),
   * for fast previews (live mode) and when the user picks it; absent or null: none.
   */
  vaeDecoderTiny?: string | null;
  /** folder with tokenizer.json and tokenizer_config.json */
  tokenizer: string;
  unets: UnetSpec[];
  schedule: NoiseSchedule;
  /** null: any word goes (a general-purpose model) */
  vocabulary: Vocabulary | null;
  /** null: nothing to verify against (a standard folder has no hashes) */
  files: FileRecord[] | null;
  /** what the UNet predicts; absent: epsilon (our bundles) */
  prediction?: PredictionType;
  /** an SDXL-class folder's second text encoder; absent or null: one text encoder (SD 1.x / 2.x, our bundles) */
  sdxl?: SdxlParts | null;
}

/**
 * SDXL conditioning (diffusers' StableDiffusionXLPipeline): the penultimate hidden states of both text encoders
 * side by side, the second one's pooled `text_embeds`, and `time_ids` from the image size.
 */
export interface SdxlParts {
  textEncoder2: string;
  tokenizer2: string;
  /** force_zeros_for_empty_prompt: CFG's empty prompt is all zeros instead of its encoding */
  zeroUncond: boolean;
}

/** Which VAE decoder makes an image: the bundle's own, or its tiny one (vaeDecoderTiny). */
export type DecoderChoice = 'full' | 'tiny';

/** The decoder graph that serves `choice`: the tiny one only where the bundle has it. */
export function decoderOf(spec: Pick<BundleSpec, 'vaeDecoder' | 'vaeDecoderTiny'>, choice: DecoderChoice = 'full'): { path: string; choice: DecoderChoice } {
  return choice === 'tiny' && spec.vaeDecoderTiny ? { path: spec.vaeDecoderTiny, choice } : { path: spec.vaeDecoder, choice: 'full' };
}

export class BundleFormatError extends Error {
  constructor(
    readonly file: string,
    message: string,
  ) {
    super(`${file}: ${message}`);
    this.name = 'BundleFormatError';
  }
}

export const T_MAX = 999;

/** "2 steps (DDIM, noise correction)", "25 steps (DPM-Solver++, CFG 4)" */
export function describeRecipe(recipe: Recipe): string {
  const n = recipe.timesteps.length;
  const cfg = recipe.guidanceScale > 1 ? [`CFG ${recipe.guidanceScale}`] : [];
  const how = (parts: string[]): string => `${n} step${n === 1 ? '' : 's'} (${parts.join(', ')})`;
  switch (recipe.sampler) {
    case 'ddim':
      // the correction acts between steps, and only on a start from pure noise (t = 999): elsewhere the image is the same without it
      return how(['DDIM', ...cfg, ...(recipe.noiseCorrection && n >= 2 && recipe.timesteps[0] === T_MAX ? ['noise correction'] : [])]);
    case 'dpmsolver++':
      return how(['DPM-Solver++', ...cfg]);
    default:
      return assertNever(recipe);
  }
}

export function assertNever(x: never): never {
  throw new Error(`unexpected value ${JSON.stringify(x)}`);
}

/** A file path inside a bundle: relative, '/'-separated, no '..' or empty segments. */
export function isSafeRelativePath(p: string): boolean {
  if (p === '' || p.startsWith('/') || p.includes('\\')) return false;
  return p.split('/').every((seg) => seg !== '' && seg !== '.' && seg !== '..');
}

/** The folder part of a bundle-relative path ('' for a file at the top). */
export function dirOf(path: string): string {
  const i = path.lastIndexOf('/');
  return i === -1 ? '' : path.slice(0, i);
}

export function joinPath(dir: string, name: string): string {
  return dir === '' ? name : `${dir.replace(/\/+$/, '')}/${name}`;
}

/** The tokenizer's two files inside a bundle. */
export function tokenizerFiles(spec: Pick<BundleSpec, 'tokenizer'>): { json: string; config: string } {
  return { json: joinPath(spec.tokenizer, 'tokenizer.json'), config: joinPath(spec.tokenizer, 'tokenizer_config.json') };
}
