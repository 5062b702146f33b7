/**
 * Prompt → image for one bundle: what the worker holds. Plain TypeScript on the Runtime interface. The work
 * lives in loader.ts (files, sessions, tokenizer, shape checks) and generate.ts (one generation); this
 * keeps them together for one bundle and is where the worker and the page import the pipeline's types from.
 */

import type { BackendInfo } from './backend';
import { describeRecipe, type BundleSpec, type Recipe, type UnetSpec } from './bundle';
import { alphasCumprod } from './ddim';
import type { FileIo } from './files';
import { generate, generateGrid, resolveUnet } from './generate';
import { Loader } from './loader';
import type { Runtime } from './runtime';
import type { BundleSummary, GenerateOutput, GenerateParams, GridOutput, RunOptions } from './types';

export type {
  BundleSummary,
  GenerateOutput,
  GenerateParams,
  GenerateProfile,
  GridOutput,
  LoadProgress,
  RunOptions,
  Stage,
  StageTiming,
  StepCount,
  StepProgress,
  UnetSummary,
} from './types';

function bundleSummary(spec: BundleSpec): BundleSummary {
  return {
    name: spec.name,
    baseUrl: spec.baseUrl,
    source: spec.source,
    verified: spec.files !== null,
    imageSize: spec.imageSize,
    latentShape: spec.latentShape,
    contextLength: spec.contextLength,
    unets: spec.unets.map((u) => ({ id: u.id, file: u.path, role: u.role, steps: u.recipe.timesteps.length, label: describeRecipe(u.recipe) })),
    vocabulary: spec.vocabulary?.words ?? null,
    grammar: spec.vocabulary?.grammar ?? null,
    tinyDecoder: Boolean(spec.vaeDecoderTiny),
  };
}

export class Pipeline {
  private readonly loader: Loader;
  private readonly ac: Float64Array;

  constructor(spec: BundleSpec, io: FileIo, runtime: Runtime) {
    this.loader = new Loader(spec, io, runtime);
    this.ac = alphasCumprod(spec.schedule);
  }

  /** The bundle as its loaded sessions have confirmed it (a standard folder's shapes come from its graphs). */
  get spec(): BundleSpec {
    return this.loader.spec;
  }

  get backend(): BackendInfo {
    return this.loader.backend;
  }

  get lost(): Promise<string> {
    return this.loader.lost;
  }

  summary(): BundleSummary {
    return bundleSummary(this.spec);
  }

  /** Drops every session: the next generation recreates them on `runtime` (e.g. WASM after a lost GPU). */
  switchRuntime(runtime: Runtime): Promise<void> {
    return this.loader.switchRuntime(runtime);
  }

  dispose(): Promise<void> {
    return this.loader.releaseSessions();
  }

  /** The UNet and recipe that serve `params`. */
  resolve(params: Pick<GenerateParams, 'model' | 'steps' | 'noiseCorrection'>): { unet: UnetSpec; recipe: Recipe } {
    return resolveUnet(this.spec, params);
  }

  /** See Loader.prepare. */
  prepare(unetIds: readonly string[], opts: RunOptions = {}, failures?: Map<string, unknown>): Promise<boolean> {
    return this.loader.prepare(unetIds, opts, failures);
  }

  generate(params: GenerateParams, opts: RunOptions = {}): Promise<GenerateOutput> {
    return generate(this.loader, this.ac, params, opts);
  }

  /** One image per seed of `params` (whose own seed is ignored); batched where the graphs allow it. */
  generateGrid(params: GenerateParams, seeds: readonly number[], opts: RunOptions = {}): Promise<GridOutput> {
    return generateGrid(this.loader, this.ac, params, seeds, opts);
  }
}
