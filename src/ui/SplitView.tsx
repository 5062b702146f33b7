import { useRef, type KeyboardEvent, type PointerEvent } from 'react';
import { appStore, useAppStore } from '../state/store';
import { PixelCanvas } from './PixelCanvas';

const KEY_STEP: Record<string, number> = { ArrowLeft: -5, ArrowRight: 5, ArrowDown: -5, ArrowUp: 5, PageDown: -20, PageUp: 20 };

/** Two images stacked; the right one is revealed right of a draggable (or arrow-key driven) divider. */
export function SplitView() {
  const entries = useAppStore((s) => s.compare);
  const split = useAppStore((s) => s.split);
  const a = useAppStore((s) => s.compare[s.compareLeft]);
  const b = useAppStore((s) => s.compare[s.compareRight]);
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
      {a?.image ? <PixelCanvas image={a.image.output.image} label={a.label} /> : <div className="placeholder">{a?.label}</div>}
      <div className="split-right" style={{ clipPath: `inset(0 0 0 ${split}%)` }}>
        {b?.image ? <PixelCanvas image={b.image.output.image} label={b.label} /> : <div className="placeholder">{b?.label}</div>}
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
