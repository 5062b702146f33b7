import { useRef, type CSSProperties, type KeyboardEvent, type PointerEvent } from 'react';
import type { CompareEntry } from '../state/compareSlice';
import { appStore, useAppStore } from '../state/store';
import { PixelCanvas } from './PixelCanvas';

const KEY_STEP: Record<string, number> = { ArrowLeft: -5, ArrowRight: 5, ArrowDown: -5, ArrowUp: 5, PageDown: -20, PageUp: 20 };

/** What a variant without an image is doing, in words: never blank, so no other image can pass for it. */
export function pendingText(entry: CompareEntry, running: boolean): string {
  if (entry.error) return `${entry.label} — failed: ${entry.error.message}`;
  return `${entry.label} — ${running ? 'generating…' : 'not generated'}`;
}

/** One side: its image, or an opaque card saying why there is none, its text centred in the part left visible. */
function Side({ entry, running, visible }: { entry: CompareEntry | undefined; running: boolean; visible: CSSProperties }) {
  if (!entry) return <div className="placeholder split-pending" />;
  if (entry.image) return <PixelCanvas image={entry.image.output.image} label={entry.label} />;
  return (
    <div className={`placeholder split-pending${entry.error ? ' failed' : ''}`} style={visible}>
      <span>{pendingText(entry, running)}</span>
    </div>
  );
}

/** Two images stacked; the right one is revealed right of a draggable (or arrow-key driven) divider. */
export function SplitView() {
  const entries = useAppStore((s) => s.compare);
  const split = useAppStore((s) => s.split);
  const a = useAppStore((s) => s.compare[s.compareLeft]);
  const b = useAppStore((s) => s.compare[s.compareRight]);
  const running = useAppStore((s) => s.compareStatus === 'running');
  const box = useRef<HTMLDivElement>(null);
  const { setSplit } = appStore.getState();

  const moveTo = (clientX: number): void => {
    const r = box.current?.getBoundingClientRect();
    if (r && r.width > 0) setSplit(((clientX - r.left) / r.width) * 100);
  };
  const onPointerDown = (e: PointerEvent<HTMLDivElement>): void => {
    e.currentTarget.setPointerCapture(e.pointerId);
    moveTo(e.clientX);
  };
  const onPointerMove = (e: PointerEvent<HTMLDivElement>): void => {
    if (e.currentTarget.hasPointerCapture(e.pointerId)) moveTo(e.clientX);
  };
  const onKey = (e: KeyboardEvent<HTMLDivElement>): void => {
    const d = KEY_STEP[e.key];
    const target = e.key === 'Home' ? 0 : e.key === 'End' ? 100 : d !== undefined ? split + d : null;
    if (target === null) return;
    e.preventDefault();
    setSplit(target);
  };

  if (entries.length === 0) return null;
  return (
    <div className="split" ref={box} onPointerDown={onPointerDown} onPointerMove={onPointerMove} data-testid="split">
      <Side entry={a} running={running} visible={{ paddingRight: `calc(${100 - split}% + 1.25rem)` }} />
      <div className="split-right" style={{ clipPath: `inset(0 0 0 ${split}%)` }} data-testid="split-right">
        <Side entry={b} running={running} visible={{ paddingLeft: `calc(${split}% + 1.25rem)` }} />
      </div>
      <span className="split-tag left">{a?.label}</span>
      <span className="split-tag right">{b?.label}</span>
      <div
        className="split-handle"
        style={{ left: `${split}%` }}
        role="slider"
        tabIndex={0}
        aria-label="Split position"
        aria-valuemin={0}
        aria-valuemax={100}
        aria-valuenow={Math.round(split)}
        aria-valuetext={`${Math.round(split)}% ${a?.label ?? ''} | ${b?.label ?? ''}`}
        onKeyDown={onKey}
      />
    </div>
  );
}
