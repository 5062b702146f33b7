/**
 * The part of the app state a link carries, so a shared URL reproduces an image: prompt, seed, steps,
 * model, noise correction, and which bundle (and backend and live mode, when the user chose them). Unknown or malformed values are
 * dropped here; the seed stays text so a bad one is shown to the user and explained, not silently fixed.
 * `made` is the backend the linked image was made on: a record, not a preference (pixels differ slightly
 * across backends, so the page that opens the link can say why its image may not match).
 */

import { isBackendPreference, type BackendPreference } from '../pipeline/backend';
import type { UnetRole } from '../pipeline/bundle';
import { parseSeed } from '../pipeline/noise';
import type { StepCount } from '../pipeline/pipeline';
import type { GeneratedImage } from './generationSlice';

export type MadeOn = 'wasm' | 'webgpu';

export interface UrlState {
  prompt?: string;
  seed?: string;
  steps?: StepCount;
  model?: UnetRole;
  nc?: boolean;
  bundle?: string;
  backend?: BackendPreference;
  /** live mode as the user set it (absent: the page's default) */
  live?: boolean;
  made?: MadeOn;
}

const MAX_PROMPT = 1000;

export function parseUrlState(search: string): UrlState {
  const q = new URLSearchParams(search);
  const out: UrlState = {};
  const prompt = q.get('prompt');
  if (prompt !== null) out.prompt = prompt.slice(0, MAX_PROMPT);
  const seed = q.get('seed');
  if (seed !== null) out.seed = seed.slice(0, 40);
  const steps = q.get('steps');
  if (steps === '1' || steps === '2' || steps === '3') out.steps = Number(steps) as StepCount;
  const model = q.get('model');
  if (model === 'flash' || model === 'teacher') out.model = model;
  const nc = q.get('nc');
  if (nc === '1' || nc === '0') out.nc = nc === '1';
  const bundle = q.get('bundle');
  if (bundle !== null && /^[A-Za-z0-9][A-Za-z0-9._-]*$/.test(bundle)) out.bundle = bundle;
  const backend = q.get('backend');
  if (isBackendPreference(backend) && backend !== 'auto') out.backend = backend;
  const live = q.get('live');
  if (live === '1' || live === '0') out.live = live === '1';
  const made = q.get('made');
  if (made === 'wasm' || made === 'webgpu') out.made = made;
  return out;
}

/** Stable key order, so equal states give equal URLs. */
export function toSearch(s: UrlState): string {
  const q = new URLSearchParams();
  if (s.prompt !== undefined) q.set('prompt', s.prompt);
  if (s.seed !== undefined) q.set('seed', s.seed);
  if (s.steps !== undefined) q.set('steps', String(s.steps));
  if (s.model !== undefined) q.set('model', s.model);
  if (s.nc !== undefined) q.set('nc', s.nc ? '1' : '0');
  if (s.bundle !== undefined) q.set('bundle', s.bundle);
  if (s.backend !== undefined && s.backend !== 'auto') q.set('backend', s.backend);
  if (s.live !== undefined) q.set('live', s.live ? '1' : '0');
  if (s.made !== undefined) q.set('made', s.made);
  const str = q.toString();
  return str ? `?${str}` : '';
}

const BACKEND_NAMES: Record<MadeOn, string> = { wasm: 'WASM', webgpu: 'WebGPU' };

/** GeneratedImage.backend: the label shown to the user (and kept in the history), for the backend that ran */
export function backendLabel(kind: MadeOn | undefined): string {
  return BACKEND_NAMES[kind ?? 'wasm'];
}

/** The backend a GeneratedImage.backend label names. */
export function madeOn(label: string): MadeOn {
  return label === BACKEND_NAMES.webgpu ? 'webgpu' : 'wasm';
}

/** The link that reproduces `image` (with the user's forced backend and live mode choice, if any, kept as they are). */
export function imageSearch(image: GeneratedImage, backendPref: BackendPreference, livePref: boolean | null = null): string {
  return toSearch({
    prompt: image.prompt,
    seed: String(image.seed),
    steps: image.variant.steps,
    model: image.variant.model,
    nc: image.variant.noiseCorrection,
    bundle: image.bundle === '' ? undefined : image.bundle,
    backend: backendPref,
    live: livePref ?? undefined,
    made: madeOn(image.backend),
  });
}

function seedIs(text: string, seed: number): boolean {
  const parsed = parseSeed(text);
  return parsed.ok && parsed.seed === seed;
}

/** Whether `image` answers the request `link` names (a field the link leaves out matches anything). */
function answersLink(link: UrlState, image: GeneratedImage): boolean {
  const v = image.variant;
  return (
    (link.prompt === undefined || link.prompt.trim() === image.prompt) &&
    (link.seed === undefined || seedIs(link.seed, image.seed)) &&
    (link.steps === undefined || link.steps === v.steps) &&
    (link.model === undefined || link.model === v.model) &&
    (link.nc === undefined || link.nc === v.noiseCorrection) &&
    (link.bundle === undefined || link.bundle === image.bundle)
  );
}

/** A note for the image on screen when it is the opened link's image but was made on another backend. */
export function backendNote(link: UrlState | null, image: GeneratedImage | null): string | null {
  if (!link?.made || !image || !answersLink(link, image)) return null;
  const made = madeOn(image.backend);
  if (made === link.made) return null;
  return `This link's image was made with ${BACKEND_NAMES[link.made]}; this one was made with ${BACKEND_NAMES[made]}, so pixels may differ slightly.`;
}
