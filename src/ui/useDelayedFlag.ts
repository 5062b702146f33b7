import { useEffect, useState } from 'react';

/**
 * `on`, but turning true only after it has stayed true for `delayMs`. Busy indicators use it so that a
 * generation shorter than the delay changes nothing on screen: every repaint while the worker computes takes
 * main-thread and compositor time from the 2 cores its WASM threads need (reports/BENCH_FIXES.md).
 */
export function useDelayedFlag(on: boolean, delayMs: number): boolean {
  const [shown, setShown] = useState(false);
  useEffect(() => {
    if (!on) {
      setShown(false);
      return undefined;
    }
    const timer = setTimeout(() => setShown(true), delayMs);
    return () => clearTimeout(timer);
  }, [on, delayMs]);
  return on && shown;
}
