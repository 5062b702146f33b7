import { describeBackend } from '../pipeline/backend';
import type { FileFailure, LoadState, ModelIndexState } from '../state/modelSlice';
import { useAppStore } from '../state/store';

function failedText(failures: readonly FileFailure[]): string {
  if (failures.length === 0) return '';
  return ` · ${failures.length} file${failures.length === 1 ? '' : 's'} failed: ${failures.map((f) => f.file).join(', ')}`;
}

function modelText(index: ModelIndexState, load: LoadState, title: string | undefined, failures: readonly FileFailure[]): string {
  switch (index.kind) {
    case 'loading':
      return 'Looking for model bundles…';
    case 'none':
    case 'error':
      if (!title) return index.message;
      break;
    case 'found':
      break;
    default: {
      const never: never = index;
      return String(never);
    }
  }
  switch (load.kind) {
    case 'idle':
      return `Model bundle: ${title ?? '–'} (not loaded)`;
    case 'loading':
      return `Loading ${title ?? 'model'}…`;
    case 'ready': {
      const s = load.summary;
      return `Model: ${s.name} · ${s.imageSize[1]}×${s.imageSize[0]} · ${s.verified ? 'verified' : 'unverified (no hashes)'}${failedText(failures)}`;
    }
    case 'error':
      return `Could not load ${title ?? 'the model'}: ${load.error.message}`;
    default: {
      const never: never = load;
      return String(never);
    }
  }
}

export function StatusLine() {
  const backend = useAppStore((s) => s.backend);
  const notice = useAppStore((s) => s.backendNotice);
  const modelIndex = useAppStore((s) => s.modelIndex);
  const load = useAppStore((s) => s.load);
  const title = useAppStore((s) => s.bundle?.title);
  const fileFailures = useAppStore((s) => s.fileFailures);
  const failed = modelIndex.kind === 'error' || load.kind === 'error';
  return (
    <p className="status" role="status">
      <span data-testid="backend" className={`badge ${backend?.kind ?? ''}`}>
        Backend: {backend ? describeBackend(backend) : 'detecting…'}
      </span>
      {notice && (
        <span data-testid="backend-notice" className="notice">
          {notice} — switched to WASM
        </span>
      )}
      <span data-testid="model" className={failed ? 'error' : fileFailures.length > 0 ? 'notice' : undefined} title={fileFailures.map((f) => f.message).join('\n') || undefined}>
        {modelText(modelIndex, load, title, fileFailures)}
      </span>
    </p>
  );
}
