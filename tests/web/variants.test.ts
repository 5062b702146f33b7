import { describe, expect, it } from 'vitest';
import { availableChoice, flashSteps, type UnetOffer } from '../../src/pipeline/variants';

const teacher: UnetOffer = { role: 'teacher', steps: 25 };
const flash = (steps: number): UnetOffer => ({ role: 'flash', steps });

describe('availableChoice', () => {
  it('keeps what the bundle has', () => {
    const all = [teacher, flash(1), flash(2), flash(3)];
    expect(availableChoice(all, { model: 'flash', steps: 2 })).toEqual({ choice: { model: 'flash', steps: 2 }, missing: null });
    expect(availableChoice(all, { model: 'teacher', steps: 2 })).toEqual({ choice: { model: 'teacher', steps: 2 }, missing: null });
  });

  it('a teacher-only bundle: Flash becomes the Teacher', () => {
    expect(availableChoice([teacher], { model: 'flash', steps: 2 })).toEqual({ choice: { model: 'teacher', steps: 2 }, missing: 'a Flash model' });
  });

  it('a missing step count becomes the nearest one, more steps on a tie', () => {
    expect(availableChoice([teacher, flash(1), flash(3)], { model: 'flash', steps: 2 })).toEqual({ choice: { model: 'flash', steps: 3 }, missing: 'a 2-step Flash model' });
    expect(availableChoice([flash(1)], { model: 'flash', steps: 3 }).choice).toEqual({ model: 'flash', steps: 1 });
  });

  it('a flash-only bundle (an SD-Turbo export): the Teacher becomes Flash', () => {
    expect(availableChoice([flash(1)], { model: 'teacher', steps: 2 })).toEqual({ choice: { model: 'flash', steps: 1 }, missing: 'a Teacher model' });
  });

  it('offers 1–3 flash steps only, once each, ascending', () => {
    expect(flashSteps([flash(3), flash(1), flash(4), flash(1), teacher])).toEqual([1, 3]);
  });
});
