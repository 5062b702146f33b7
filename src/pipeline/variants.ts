/**
 * Which model a bundle can serve for what the user (or a link) asked: bundles differ (the shipped
 * ShapeScenes bundle has a teacher only until its flash students are distilled; an SD-Turbo export has one
 * UNet), so the form's default must become one the bundle has instead of a dead Generate button.
 */

import type { UnetRole } from './bundle';
import type { StepCount } from './types';

export interface ModelChoice {
  model: UnetRole;
  steps: StepCount;
}

/** The part of a bundle summary's UNet list this needs. */
export interface UnetOffer {
  role: UnetRole;
  steps: number;
}

const isStep = (n: number): n is StepCount => n === 1 || n === 2 || n === 3;

/** The flash step counts the bundle offers, ascending (the UI offers 1–3 only). */
export function flashSteps(unets: readonly UnetOffer[]): StepCount[] {
  const steps = unets.filter((u) => u.role === 'flash').map((u) => u.steps).filter(isStep);
  return [...new Set(steps)].sort((a, b) => a - b);
}

export function hasTeacher(unets: readonly UnetOffer[]): boolean {
  return unets.some((u) => u.role === 'teacher');
}

/** The offered count nearest to `wanted`; on a tie the one with more steps (the better image). */
function nearest(offered: readonly StepCount[], wanted: StepCount): StepCount | null {
  let best: StepCount | null = null;
  for (const s of offered) {
    if (best === null || Math.abs(s - wanted) < Math.abs(best - wanted) || (Math.abs(s - wanted) === Math.abs(best - wanted) && s > best)) best = s;
  }
  return best;
}

export function describeChoice(c: ModelChoice): string {
  return c.model === 'teacher' ? 'the Teacher' : `the ${c.steps}-step Flash model`;
}

/**
 * `wanted` when the bundle has it; otherwise the nearest flash step count, else the other model.
 * `missing` describes what was asked for and is not there (null when nothing changed).
 */
export function availableChoice(unets: readonly UnetOffer[], wanted: ModelChoice): { choice: ModelChoice; missing: string | null } {
  const flash = flashSteps(unets);
  const teacher = hasTeacher(unets);
  if (wanted.model === 'teacher') {
    const steps = nearest(flash, wanted.steps);
    if (teacher || steps === null) return { choice: wanted, missing: null };
    return { choice: { model: 'flash', steps }, missing: 'a Teacher model' };
  }
  if (flash.includes(wanted.steps)) return { choice: wanted, missing: null };
  const steps = nearest(flash, wanted.steps);
  if (steps !== null) return { choice: { model: 'flash', steps }, missing: `a ${wanted.steps}-step Flash model` };
  if (teacher) return { choice: { model: 'teacher', steps: wanted.steps }, missing: 'a Flash model' };
  return { choice: wanted, missing: null };
}
