import { useEffect, useRef } from 'react';
import { useAppStore } from '../state/store';
import { backendNote } from '../state/urlState';

/** The one-column layout (app.css): there the image sits below the form, often under the fold. */
const NARROW = '(max-width: 52rem)';

function fullyVisible(el: Element): boolean {
  const r = el.getBoundingClientRect();
  // a pixel of slack: scroll offsets are whole pixels, layout edges are not
  return r.top >= -1 && r.bottom <= window.innerHeight + 1;
}

/**
 * Placed inside the image frame: when a new image is shown on a narrow screen and the frame is not fully in
 * view, scrolls the frame into view. A wide screen shows the image beside the form, so its scroll is left alone.
 * A live image is not scrolled to: it comes while the user types in the prompt above.
 */
export function RevealOnDone() {
  const anchor = useRef<HTMLSpanElement>(null);
  const shownKey = useAppStore((s) => (s.status === 'done' && s.runKind === 'chosen' ? s.current?.key : undefined));
  useEffect(() => {
    const frame = anchor.current?.parentElement;
    if (!shownKey || !frame || !window.matchMedia(NARROW).matches || fullyVisible(frame)) return;
    const still = window.matchMedia('(prefers-reduced-motion: reduce)').matches;
    frame.scrollIntoView({ block: 'nearest', behavior: still ? 'auto' : 'smooth' });
  }, [shownKey]);
  return <span ref={anchor} hidden />;
}

/** Why a shared link's image may differ from the one on screen: they were made on different backends. */
export function BackendNote() {
  const note = useAppStore((s) => backendNote(s.openedLink, s.current));
  if (!note) return null;
  return (
    <p className="notice" data-testid="backend-note">
      {note}
    </p>
  );
}
