import type { DecoderChoice } from '../pipeline/bundle';
import type { Variant } from '../worker/protocol';
import type { AppState, SliceCreator } from './types';

export type { DecoderChoice };

export interface DecoderSlice {
  /** the user's decoder for Generate and the seed grid; live mode always previews with the tiny one, the step comparison uses the full one */
  decoderPref: DecoderChoice;
  setDecoder: (choice: DecoderChoice) => void;
}

/** The loaded bundle has a tiny VAE decoder (our bundles' vae_decoder_tiny/). */
export function tinyDecoderAvailable(s: Pick<AppState, 'load'>): boolean {
  return s.load.kind === 'ready' && s.load.summary.tinyDecoder === true;
}

/** The decoder a run the user asked for uses: their choice, where the bundle has it. */
export function chosenDecoder(s: Pick<AppState, 'load' | 'decoderPref'>): DecoderChoice {
  return s.decoderPref === 'tiny' && tinyDecoderAvailable(s) ? 'tiny' : 'full';
}

/** `variant` decoded with `choice`: the full decoder is the protocol's default, so it is left unsaid. */
export function withDecoder(variant: Variant, choice: DecoderChoice): Variant {
  const { decoder: _, ...rest } = variant;
  return choice === 'tiny' ? { ...rest, decoder: 'tiny' } : rest;
}

export const createDecoderSlice: SliceCreator<DecoderSlice> = (set) => ({
  decoderPref: 'full',
  setDecoder: (decoderPref) => set({ decoderPref }),
});
