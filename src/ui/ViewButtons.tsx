import { appStore, useAppStore } from '../state/store';

/** The other views of the form's request: the step comparison and the seed grid. */
export function ViewButtons() {
  const ready = useAppStore((s) => s.modelReady);
  const { startCompare, startGrid } = appStore.getState();
  return (
    <>
      <button type="button" className="secondary" disabled={!ready} onClick={startCompare}>
        Compare steps
      </button>
      <button type="button" className="secondary" disabled={!ready} onClick={startGrid} title="The same prompt at four seeds, from the seed above on">
        Seed grid
      </button>
    </>
  );
}
