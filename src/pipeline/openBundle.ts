/**
 * Opens a model folder by URL: our bundle when it has manifest.json, else a standard diffusers/optimum
 * Stable Diffusion ONNX folder via model_index.json. Small JSON files are fetched fresh (no-cache) so an
 * updated bundle is noticed; the manifest is the root of trust for everything else.
 */

import { BundleFormatError, type BundleSpec } from './bundle';
import { BundleFileError, decodeText, readVerifiedFile, type FileIo } from './files';
import { parsePythonJson } from './json';
import { MANIFEST_FILE, parseManifest, parseSchedulerConfig } from './manifest';
import { checkModelIndex, MODEL_INDEX_FILE, SD_PATHS, standardSpec } from './sdFolder';

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

async function required(io: FileIo, baseUrl: string, path: string, signal?: AbortSignal): Promise<unknown> {
  const json = await fetchJson(io, baseUrl, path, signal);
  if (json === null) throw new BundleFileError(path, 'is missing from the folder (HTTP 404)');
  return json;
}

export async function openBundle(io: FileIo, baseUrl: string, signal?: AbortSignal): Promise<BundleSpec> {
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
  const index = await fetchJson(io, baseUrl, MODEL_INDEX_FILE, signal);
  if (index === null) {
    throw new BundleFileError(MANIFEST_FILE, `neither manifest.json nor model_index.json was found in ${new URL(baseUrl).pathname}`);
  }
  checkModelIndex(index);
  const [unet, vae, text, scheduler] = await Promise.all([
    fetchJson(io, baseUrl, SD_PATHS.unetConfig, signal),
    fetchJson(io, baseUrl, SD_PATHS.vaeConfig, signal),
    fetchJson(io, baseUrl, SD_PATHS.textConfig, signal),
    required(io, baseUrl, SD_PATHS.scheduler, signal),
  ]);
  const spec = standardSpec(baseUrl, { unet, vae, text, scheduler });
  const name = decodeURIComponent(new URL(baseUrl).pathname.replace(/\/+$/, '').split('/').pop() ?? baseUrl);
  return { ...spec, name, schedule: parseSchedulerConfig(scheduler, SD_PATHS.scheduler) };
}
