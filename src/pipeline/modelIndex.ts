/**
 * /models/index.json lists the model bundles shipped with the app (folders under /models/).
 * Accepted forms: ["bundle-a", ...], [{"id": "bundle-a", "title": "..."}, ...], or {"bundles": <either>}.
 */

export interface BundleRef {
  id: string;
  title: string;
  /** URL of the bundle folder, ending in '/' */
  url: string;
}

export type IndexResult =
  | { kind: 'found'; bundles: BundleRef[] }
  | { kind: 'none'; message: string }
  | { kind: 'error'; message: string };

const SAFE_ID = /^[A-Za-z0-9][A-Za-z0-9._-]*$/;

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Throws on malformed input; returns [] for an empty list. */
export function parseModelIndex(json: unknown, base = '/models/'): BundleRef[] {
  const list = isRecord(json) ? json.bundles : json;
  if (!Array.isArray(list)) throw new TypeError('expected a list of bundles or {"bundles": [...]}');
  return list.map((entry, i): BundleRef => {
    const id = typeof entry === 'string' ? entry : isRecord(entry) ? entry.id : undefined;
    if (typeof id !== 'string' || !SAFE_ID.test(id)) throw new TypeError(`bundle #${i}: bad id ${JSON.stringify(id)}`);
    const title = isRecord(entry) && typeof entry.title === 'string' ? entry.title : id;
    return { id, title, url: `${base}${id}/` };
  });
}

export function noBundleMessage(base = '/models/'): string {
  return `No model bundle found under ${base}`;
}

export async function fetchModelIndex(fetchFn: typeof fetch, base = '/models/'): Promise<IndexResult> {
  let res: Response;
  try {
    res = await fetchFn(`${base}index.json`, { cache: 'no-cache' });
  } catch (err) {
    return { kind: 'error', message: `Could not fetch ${base}index.json: ${String(err)}` };
  }
  if (res.status === 404) return { kind: 'none', message: noBundleMessage(base) };
  if (!res.ok) return { kind: 'error', message: `${base}index.json: HTTP ${res.status}` };
  try {
    const bundles = parseModelIndex(await res.json(), base);
    return bundles.length > 0 ? { kind: 'found', bundles } : { kind: 'none', message: noBundleMessage(base) };
  } catch (err) {
    return { kind: 'error', message: `Invalid ${base}index.json: ${err instanceof Error ? err.message : String(err)}` };
  }
}
