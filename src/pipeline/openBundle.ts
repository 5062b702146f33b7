/**
 * Opens a model folder by URL: our bundle when it has manifest.json, else a standard diffusers/optimum
 * Stable Diffusion ONNX folder via model_index.json, or, without an index, by its standard subfolders. Small JSON
 * files are fetched fresh (no-cache) so an updated bundle is noticed; the manifest is the root of trust for
 * everything else.
 */

import { BundleFormatError, type BundleSpec } from './bundle';
import { BundleFileError, decodeText, readVerifiedFile, type FileIo } from './files';
import { parsePythonJson } from './json';
import { MANIFEST_FILE, parseManifest, parseSchedulerConfig } from './manifest';
import { parseFolderScheduler } from './schedulerConfig';
import { MODEL_INDEX_FILE, readModelIndex, SD_PATHS, standardSpec, type FolderLayout, type OpenOptions } from './sdFolder';

async function fetchJson(io: FileIo, baseUrl: string, path: string, signal?: AbortSignal): Promise<unknown | null> {
  let res: Response;
  try {
    res = await io.fetch(new URL(path, baseUrl).href, { cache: 'no-cache', signal });
  } catch (err) {
    if (signal?.aborted) throw err;
    throw new BundleFileError(path, `could not be downloaded (${err instanceof Error ? err.message : String(err)})`);
  }
  if (res.status === 404) return null;
  if (!res.ok) throw new BundleFileError(path, `could not be downloaded (HTTP ${res.status})`);
  const text = await res.text();
  try {
    return parsePythonJson(text);
  } catch {
    throw new BundleFormatError(path, 'is not valid JSON');
  }
}

export async function openBundle(io: FileIo, baseUrl: string, signal?: AbortSignal, options: OpenOptions = {}): Promise<BundleSpec> {
  const manifest = await fetchJson(io, baseUrl, MANIFEST_FILE, signal);
  if (manifest !== null) {
    const { spec, schedulerConfig } = parseManifest(manifest, baseUrl);
    const record = spec.files?.find((f) => f.path === schedulerConfig);
    if (!record) throw new BundleFormatError(MANIFEST_FILE, `"files" has no size and sha256 for ${schedulerConfig}`);
    const bytes = await readVerifiedFile(io, baseUrl, record, { signal });
    let config: unknown;
    try {
      config = parsePythonJson(decodeText(bytes));
    } catch {
      throw new BundleFormatError(schedulerConfig, 'is not valid JSON');
    }
    return { ...spec, schedule: parseSchedulerConfig(config, schedulerConfig) };
  }
  const get = (path: string): Promise<unknown | null> => fetchJson(io, baseUrl, path, signal);
  const [index, unet, vae, text, text2, scheduler] = await Promise.all([
    get(MODEL_INDEX_FILE),
    get(SD_PATHS.unetConfig),
    get(SD_PATHS.vaeConfig),
    get(SD_PATHS.textConfig),
    get(SD_PATHS.text2Config),
    get(SD_PATHS.scheduler),
  ]);
  const where = new URL(baseUrl).pathname;
  let layout: FolderLayout;
  if (index !== null) {
    layout = readModelIndex(index);
  } else if (scheduler !== null && unet !== null) {
    // an export without its index: the subfolders say what it is
    layout = { className: null, sdxl: text2 !== null, zeroUncond: true };
  } else {
    throw new BundleFileError(
      MANIFEST_FILE,
      `neither manifest.json nor model_index.json was found in ${where}, nor the standard subfolders (${SD_PATHS.unetConfig}, ${SD_PATHS.scheduler})`,
    );
  }
  if (scheduler === null) throw new BundleFileError(SD_PATHS.scheduler, 'is missing from the folder (HTTP 404)');
  const spec = standardSpec(baseUrl, { unet, vae, text, scheduler: parseFolderScheduler(scheduler, SD_PATHS.scheduler) }, layout, options);
  const name = decodeURIComponent(where.replace(/\/+$/, '').split('/').pop() ?? baseUrl);
  return { ...spec, name };
}
