import { isLiveOn, liveAvailable } from '../state/liveSlice';
import { appStore, useAppStore } from '../state/store';

/** Live mode's switch: on by default where a 1-step image is fast (see liveByDefault). */
export function LiveToggle() {
  const on = useAppStore(isLiveOn);
  const available = useAppStore(liveAvailable);
  const { setLive } = appStore.getState();
  const title = available
    ? 'Draws an image with the fastest Flash model after each pause in typing. Generate still uses the model and steps chosen in the form.'
    : 'Needs a Flash model, which this bundle does not have';
  return (
    <label className="option toggle" title={title}>
      <input type="checkbox" checked={on} disabled={!available} onChange={(e) => setLive(e.target.checked)} />
      <span>Live while typing</span>
    </label>
  );
}
