/**
 * Errors the pipeline raises on purpose, each carrying what the UI needs to say something useful.
 * BundleFormatError (bundle.ts) and BundleFileError (files.ts) name the file at fault.
 */

/** The user's request cannot be served as given (empty prompt, bad seed, a step count the bundle lacks). */
export class InputError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'InputError';
  }
}

/** Known words in an order the model was not trained on (grammar.ts); an InputError to the page. */
export class GrammarError extends InputError {
  constructor(
    message: string,
    /** index of the offending word among the prompt's words */
    readonly at: number,
  ) {
    super(message);
    this.name = 'GrammarError';
  }
}

/** The prompt uses words the model was not trained on. */
export class VocabularyError extends Error {
  constructor(
    message: string,
    readonly unknown: string[],
    readonly suggestions: Record<string, string>,
    readonly known: string[],
  ) {
    super(message);
    this.name = 'VocabularyError';
  }
}

/** A model file that verified but does not fit the bundle or the runtime (shapes, dtypes, ops). */
export class ModelError extends Error {
  constructor(
    readonly file: string,
    message: string,
  ) {
    super(`${file}: ${message}`);
    this.name = 'ModelError';
  }
}

export function isAbortError(err: unknown): boolean {
  return (err instanceof DOMException || err instanceof Error) && err.name === 'AbortError';
}
