import type { WorkerError } from '../worker/protocol';

/** Errors in words a user can act on; a vocabulary error lists what the model does know. */
export function ErrorBanner({ error, testId = 'error' }: { error: WorkerError | null; testId?: string }) {
  if (!error) return null;
  return (
    <div className="error-banner" role="alert" data-testid={testId}>
      <p>{error.message}</p>
      {error.kind === 'vocabulary' && (
        <p className="known-words">
          <strong>Words it knows:</strong> {error.known.join(' · ')}
        </p>
      )}
      {error.kind === 'file' && <p className="hint">The rest of the app keeps working; other models and files are unaffected.</p>}
    </div>
  );
}
