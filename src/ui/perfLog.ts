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

/** Dispatched on window after each record, so a benchmark can wait for a paint without polling the page. */
export const PAINT_EVENT = 'imagineflash-paint';

export function recordPaint(r: PaintRecord): void {
  paints.push(r);
  if (paints.length > LIMIT) paints.splice(0, paints.length - LIMIT);
  window.dispatchEvent(new Event(PAINT_EVENT));
}

export const perfLog = { paints } as const;
