import { useState, type FormEvent } from 'react';
import { appStore, useAppStore } from '../state/store';

/** The bundles of /models/index.json, plus any other folder under /models/ (e.g. a standard SD ONNX export). */
export function ModelPicker() {
  const index = useAppStore((s) => s.modelIndex);
  const bundle = useAppStore((s) => s.bundle);
  const [folder, setFolder] = useState('');
  const [guidance, setGuidance] = useState('');
  const [error, setError] = useState<string | null>(null);
  const bundles = index.kind === 'found' ? index.bundles : [];
  const listed = bundles.some((b) => b.id === bundle?.id);

  const open = (e: FormEvent<HTMLFormElement>): void => {
    e.preventDefault();
    const r = appStore.getState().openFolder(folder, guidance);
    setError(r.ok ? null : r.message);
  };

  return (
    <div className="model-picker">
      <label>
        <span className="option-label">Model bundle</span>
        <select value={bundle?.id ?? ''} onChange={(e) => appStore.getState().selectBundle(e.target.value)} disabled={bundles.length === 0}>
          {!listed && <option value={bundle?.id ?? ''}>{bundle ? bundle.title : '—'}</option>}
          {bundles.map((b) => (
            <option key={b.id} value={b.id}>
              {b.title}
            </option>
          ))}
        </select>
      </label>
      <form onSubmit={open} className="open-folder">
        <label>
          <span className="option-label">Open a folder under /models/</span>
          <span className="seed-row">
            <input value={folder} onChange={(e) => setFolder(e.target.value)} placeholder="sd-turbo-onnx" autoComplete="off" />
            <button type="submit" className="secondary">
              Open
            </button>
          </span>
        </label>
        <label title="Classifier-free guidance for every recipe of the folder (SD-Turbo: 0 or 1; SD 1.x: 7.5). Blank: each recipe's own.">
          <span className="option-label">Guidance (CFG)</span>
          <input value={guidance} onChange={(e) => setGuidance(e.target.value)} placeholder="recipe's" inputMode="decimal" autoComplete="off" size={6} />
        </label>
        {error && <span className="error">{error}</span>}
      </form>
    </div>
  );
}
