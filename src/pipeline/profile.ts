/**
 * Where one generation's time goes: the per-stage rows the page shows (StageTiming) and the breakdown the
 * benchmark reads (GenerateProfile). Kept out of generate() so that the steps of a generation read as
 * steps; generate() only says which stage each piece of work is and which bucket a session.run fills.
 */

import type { DecoderChoice } from './bundle';
import type { EpsModel } from './ddim';
import type { ModelSession, TensorValue } from './runtime';
import type { GenerateProfile, Stage, StageTiming } from './types';

const now = (): number => performance.now();

/** Adds the wall time of each session.run to the bucket the caller names. */
export type RunMeter = (ms: number) => void;

export async function meteredRun(session: ModelSession, feeds: Record<string, TensorValue>, meter: RunMeter): Promise<Record<string, TensorValue>> {
  const t0 = now();
  const out = await session.run(feeds);
  meter(now() - t0);
  return out;
}

export class Profiler {
  private readonly timings: StageTiming[] = [];
  private startMs = now();
  private textEncoderMs = 0;
  /** one bucket per UNet step, opened as the step starts */
  private readonly unetMs: number[] = [];
  private vaeMs = 0;
  private schedulerMs = 0;
  private embeddingCacheHit = false;
  private batch = 1;
  private decoder: DecoderChoice = 'full';

  /** `signal` is checked as each stage starts, so an abort stops the run at the next stage boundary. */
  constructor(private readonly signal: AbortSignal | undefined) {}

  readonly textEncoder: RunMeter = (ms) => {
    this.textEncoderMs += ms;
  };

  readonly unet: RunMeter = (ms) => {
    this.unetMs[this.unetMs.length - 1] = (this.unetMs.at(-1) ?? 0) + ms;
  };

  readonly vae: RunMeter = (ms) => {
    this.vaeMs += ms;
  };

  /**
   * Runs the load; the generation's own clock (totalMs) starts after it. A load row only when something was
   * loaded: whether the page shows the row must not depend on how long an empty load takes.
   */
  async load(prepare: () => Promise<boolean>): Promise<void> {
    const t0 = now();
    const loaded = await prepare();
    if (loaded) this.timings.push({ stage: 'load', label: 'load', ms: now() - t0 });
    this.startMs = now();
  }

  async stage<T>(stage: Stage, label: string, fn: () => Promise<T> | T): Promise<T> {
    this.signal?.throwIfAborted();
    const t0 = now();
    const v = await fn();
    this.timings.push({ stage, label, ms: now() - t0 });
    return v;
  }

  /**
   * Runs a sampler (`run`) on `eps`, each ε̂ call a 'unet' stage with its own session.run bucket, after
   * `beforeStep` (the caller's yield and progress report). The sampler's own arithmetic is what remains of
   * the sampling time once the model calls and the hooks are taken out.
   */
  async sampling(
    run: (model: EpsModel) => Promise<Float32Array>,
    eps: EpsModel,
    beforeStep: (index: number, t: number) => Promise<void>,
  ): Promise<Float32Array> {
    let step = 0;
    let outsideSampler = 0;
    const model: EpsModel = async (x, t) => {
      const t0 = now();
      const i = step++;
      await beforeStep(i, t);
      this.unetMs.push(0);
      const e = await this.stage('unet', `step ${i + 1} (t=${t})`, () => eps(x, t));
      outsideSampler += now() - t0;
      return e;
    };
    const t0 = now();
    const x0 = await run(model);
    this.schedulerMs = now() - t0 - outsideSampler;
    return x0;
  }

  /** The prompt's embedding came from the cache: said in the profile, and in the encode row a person reads. */
  embeddingFromCache(): void {
    this.embeddingCacheHit = true;
    for (const t of this.timings) if (t.stage === 'encode') t.label = 'encode (cached)';
  }

  /** The decode row names the tiny decoder, as a person reading the timings needs to know which one ran. */
  decodeLabel(choice: DecoderChoice): string {
    this.decoder = choice;
    return choice === 'tiny' ? 'decode (tiny)' : 'decode';
  }

  /** This run's model calls make `images` images together (a batched seed grid). */
  batchOf(images: number): void {
    this.batch = images;
  }

  /** The rows and the breakdown so far; totalMs ends now. */
  finish(): { timings: StageTiming[]; profile: GenerateProfile } {
    const unetRunMs = this.unetMs.reduce((a, b) => a + b, 0);
    return {
      timings: [...this.timings],
      profile: {
        totalMs: now() - this.startMs,
        sessionRunMs: this.textEncoderMs + unetRunMs + this.vaeMs,
        textEncoderRunMs: this.textEncoderMs,
        unetRunMs: [...this.unetMs],
        vaeRunMs: this.vaeMs,
        schedulerMs: this.schedulerMs,
        embeddingCacheHit: this.embeddingCacheHit,
        batch: this.batch,
        decoder: this.decoder,
      },
    };
  }
}
