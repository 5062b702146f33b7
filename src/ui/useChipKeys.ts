import { useEffect, type KeyboardEvent } from 'react';

export const focusPrompt = (): void => document.getElementById('prompt')?.focus();

/**
 * The chips are out of the Tab order (Tab goes from the prompt to Generate and the options): Arrow Down
 * in the prompt enters them, arrows move between them, Escape or Arrow Up from the first goes back.
 */
export function useChipKeys(ref: { current: HTMLDivElement | null }): (e: KeyboardEvent<HTMLDivElement>) => void {
  const chips = (): HTMLButtonElement[] => [...(ref.current?.querySelectorAll('button') ?? [])];
  useEffect(() => {
    const input = document.getElementById('prompt');
    const onKey = (e: globalThis.KeyboardEvent): void => {
      const first = chips()[0];
      if (e.key !== 'ArrowDown' || !first) return;
      e.preventDefault();
      first.focus();
    };
    input?.addEventListener('keydown', onKey);
    return () => input?.removeEventListener('keydown', onKey);
  });
  return (e) => {
    const all = chips();
    const i = all.indexOf(document.activeElement as HTMLButtonElement);
    const step = ['ArrowDown', 'ArrowRight'].includes(e.key) ? 1 : ['ArrowUp', 'ArrowLeft'].includes(e.key) ? -1 : 0;
    if (i < 0 || (step === 0 && e.key !== 'Escape')) return;
    e.preventDefault();
    if (e.key === 'Escape' || i + step < 0) focusPrompt();
    else all[Math.min(i + step, all.length - 1)]?.focus();
  };
}
