import type { GenerateProfile, StageTiming } from '../pipeline/pipeline';

/**
 * Each result painted on the main canvas, with the worker's timings: what the benchmark (bench/) reads
 * from the page as `window.imagineFlashPerf`. Times are performance.now() of the page (ms since navigation
 * start), so a cold start is simply `paintedAt` of the first record.
 */
export interface PaintRecord {
  key: string;
  seed: number;
  unetId: string;
  paintedAt: number;
  /** putImageData and the canvas resize */
  paintMs: number;
  timings: StageTiming[];
  profile: GenerateProfile;
}

const LIMIT = 500;
const paints: PaintRecord[] = [];

export function recordPaint(r: PaintRecord): void {
  paints.push(r);
  if (paints.length > LIMIT) paints.splice(0, paints.length - LIMIT);
}

export const perfLog = { paints } as const;
