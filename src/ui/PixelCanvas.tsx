import { useEffect, useRef } from 'react';
import type { RgbaImage } from '../pipeline/image';
import { useAppStore } from '../state/store';
import { paint } from './png';

interface Props {
  image: RgbaImage;
  label: string;
  className?: string;
  testId?: string;
  /** after each paint: how long it took, and when it ended (performance.now()) */
  onPainted?: (ms: number, at: number) => void;
}

/** A generated image at native resolution, upscaled by CSS with the user's smoothing choice. */
export function PixelCanvas({ image, label, className, testId, onPainted }: Props) {
  const ref = useRef<HTMLCanvasElement>(null);
  const smoothing = useAppStore((s) => s.smoothing);
  useEffect(() => {
    if (!ref.current) return;
    const t0 = performance.now();
    paint(ref.current, image);
    const at = performance.now();
    onPainted?.(at - t0, at);
    // onPainted is a fresh closure each render: only a new image needs a paint
  }, [image]);
  const classes = ['pixels', smoothing, className].filter(Boolean).join(' ');
  return <canvas ref={ref} role="img" aria-label={label} data-testid={testId} className={classes} />;
}
