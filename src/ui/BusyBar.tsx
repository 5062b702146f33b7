import { appStore, useAppStore } from '../state/store';
import { useDelayedFlag } from './useDelayedFlag';

/** Below this a run shows no progress at all (a 1-step image takes ~60 ms here). */
export const BUSY_DELAY_MS = 150;

/** The step progress of the running generation (re-rendered once per step). */
function Progress() {
  const step = useAppStore((s) => s.step);
  return (
    <>
      <span className="step-bar" aria-hidden="true">
        <span style={{ width: `${step ? (100 * (step.index + 1)) / step.total : 0}%` }} />
      </span>
      {step ? `Step ${step.index + 1} of ${step.total}` : 'Preparing…'}
    </>
  );
}

/**
 * In the DOM for the whole run (tests wait for its removal; Cancel exists from the click on), but hidden for
 * the first BUSY_DELAY_MS: only then does it subscribe to step updates, so a short run re-renders nothing per step.
 */
export function BusyBar() {
  const shown = useDelayedFlag(true, BUSY_DELAY_MS);
  const { cancelGeneration } = appStore.getState();
  return (
    <div className="busy" data-testid="busy" data-shown={shown || undefined}>
      {shown && <Progress />}
      <button type="button" className="link on-dark" onClick={cancelGeneration}>
        Cancel
      </button>
    </div>
  );
}
