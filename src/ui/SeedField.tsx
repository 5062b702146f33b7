import { MAX_SEED } from '../state/formSlice';
import { appStore, useAppStore } from '../state/store';

export function SeedField() {
  const seedText = useAppStore((s) => s.seedText);
  const { setSeedText, randomizeSeed } = appStore.getState();
  return (
    <div className="option seed">
      <label className="option-label" htmlFor="seed">
        Seed
      </label>
      <div className="seed-row">
        <input
          id="seed"
          type="text"
          inputMode="numeric"
          value={seedText}
          onChange={(e) => setSeedText(e.target.value)}
          aria-describedby="seed-hint"
          autoComplete="off"
        />
        <button type="button" className="icon" onClick={() => randomizeSeed()} aria-label="Random seed" title="Random seed">
          ⚄
        </button>
      </div>
      <span id="seed-hint" className="visually-hidden">
        A whole number from 0 to {MAX_SEED}
      </span>
    </div>
  );
}
