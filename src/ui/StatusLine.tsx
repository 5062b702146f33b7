import { describeBackend } from '../pipeline/backend';
import type { ModelIndexState } from '../state/modelSlice';
import { useAppStore } from '../state/store';

function modelText(index: ModelIndexState, ready: boolean): string {
  switch (index.kind) {
    case 'loading':
      return 'Looking for model bundles…';
    case 'none':
    case 'error':
      return index.message;
    case 'found': {
      const names = index.bundles.map((b) => b.title).join(', ');
      return `Model bundle: ${names}${ready ? '' : ' (not loaded)'}`;
    }
  }
}

export function StatusLine() {
  const backend = useAppStore((s) => s.backend);
  const modelIndex = useAppStore((s) => s.modelIndex);
  const modelReady = useAppStore((s) => s.modelReady);
  return (
    <p className="status" role="status">
      <span data-testid="backend">Backend: {backend ? describeBackend(backend) : 'detecting…'}</span>
      <span data-testid="model" className={modelIndex.kind === 'error' ? 'error' : undefined}>
        {modelText(modelIndex, modelReady)}
      </span>
    </p>
  );
}
