import type { GenerateProfile, StageTiming } from '../pipeline/pipeline';

/**
 * Each result painted on the main canvas, with the worker's timings: what the benchmark (bench/) reads
 * from the page as `window.imagineFlashPerf`. Times are performance.now() of the page (ms since navigation
 * start), so a cold start is simply `paintedAt` of the first record.
 */
export interface PaintRecord {
  key: string;
  prompt: string;
  seed: number;
  unetId: string;
  paintedAt: number;
  /** putImageData and the canvas resize */
  paintMs: number;
  timings: StageTiming[];
  profile: GenerateProfile;
}

/** A seed grid's tile painted: when, for the benchmark's images/s of a grid against single images. */
export interface GridPaintRecord {
  key: string;
  seed: number;
  paintedAt: number;
}

const LIMIT = 500;
const paints: PaintRecord[] = [];
const gridPaints: GridPaintRecord[] = [];

/** Dispatched on window after each record, so a benchmark can wait for a paint without polling the page. */
export const PAINT_EVENT = 'imagineflash-paint';

function record<T>(log: T[], r: T): void {
  log.push(r);
  if (log.length > LIMIT) log.splice(0, log.length - LIMIT);
  window.dispatchEvent(new Event(PAINT_EVENT));
}

export function recordPaint(r: PaintRecord): void {
  record(paints, r);
}

export function recordGridPaint(r: GridPaintRecord): void {
  record(gridPaints, r);
}

export const perfLog = { paints, gridPaints } as const;
