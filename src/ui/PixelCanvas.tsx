import { useEffect, useRef } from 'react';
import type { RgbaImage } from '../pipeline/image';
import { useAppStore } from '../state/store';
import { paint } from './png';

interface Props {
  image: RgbaImage;
  label: string;
  className?: string;
  testId?: string;
}

/** A generated image at native resolution, upscaled by CSS with the user's smoothing choice. */
export function PixelCanvas({ image, label, className, testId }: Props) {
  const ref = useRef<HTMLCanvasElement>(null);
  const smoothing = useAppStore((s) => s.smoothing);
  useEffect(() => {
    if (ref.current) paint(ref.current, image);
  }, [image]);
  const classes = ['pixels', smoothing, className].filter(Boolean).join(' ');
  return <canvas ref={ref} role="img" aria-label={label} data-testid={testId} className={classes} />;
}
