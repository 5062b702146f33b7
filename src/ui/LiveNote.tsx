import { isLiveOn } from '../state/liveSlice';
import { useAppStore } from '../state/store';

/** Why live mode drew nothing for the text in the box (unfinished or invalid); the image above stays the last good one. */
export function LiveNote() {
  const note = useAppStore((s) => (isLiveOn(s) ? s.liveNote : null));
  if (!note) return null;
  return (
    <p className="live-note" data-testid="live-note" aria-live="polite">
      Live: no image for this text yet. {note}
    </p>
  );
}
