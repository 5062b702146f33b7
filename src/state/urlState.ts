/**
 * The part of the app state a link carries, so a shared URL reproduces an image: prompt, seed, steps,
 * model, noise correction, and which bundle (and backend, when forced). Unknown or malformed values are
 * dropped here; the seed stays text so a bad one is shown to the user and explained, not silently fixed.
 */

import { isBackendPreference, type BackendPreference } from '../pipeline/backend';
import type { UnetRole } from '../pipeline/bundle';
import type { StepCount } from '../pipeline/pipeline';

export interface UrlState {
  prompt?: string;
  seed?: string;
  steps?: StepCount;
  model?: UnetRole;
  nc?: boolean;
  bundle?: string;
  backend?: BackendPreference;
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
  const str = q.toString();
  return str ? `?${str}` : '';
}
