/**
 * One bundle's files as the loader reads them: each checked against the manifest's size and sha256 where
 * the bundle has a manifest (files.ts), and a batch of files reported as one progress total, so the page
 * shows one bar for a load however many files it takes.
 */

import { BundleFormatError, type FileRecord } from './bundle';
import { readUnverifiedFile, readVerifiedFile, type FileIo, type ReadOptions } from './files';
import type { RunOptions } from './types';

/** Whether a failed file may be left out of a batch instead of failing it (see BundleReader.readAll). */
export type Spare = (path: string, err: unknown) => boolean;

export class BundleReader {
  private readonly records: Map<string, FileRecord> | null;

  constructor(
    private readonly io: FileIo,
    private readonly baseUrl: string,
    /** null: a standard folder, which has no hashes to check */
    files: readonly FileRecord[] | null,
  ) {
    this.records = files ? new Map(files.map((r) => [r.path, r])) : null;
  }

  get verified(): boolean {
    return this.records !== null;
  }

  async read(path: string, opts: ReadOptions): Promise<Uint8Array> {
    if (!this.records) return readUnverifiedFile(this.io, this.baseUrl, path, opts);
    const record = this.records.get(path);
    if (!record) throw new BundleFormatError('manifest.json', `"files" has no size and sha256 for ${path}`);
    return readVerifiedFile(this.io, this.baseUrl, record, opts);
  }

  /** Reads `paths` in order with one progress total. A file whose failure `spare` accepts is left out of the
   * result instead of failing the whole read. */
  async readAll(paths: readonly string[], opts: Pick<RunOptions, 'signal' | 'onProgress'>, spare: Spare = () => false): Promise<Map<string, Uint8Array>> {
    const sizes = paths.map((p) => this.records?.get(p)?.bytes ?? null);
    const bytesTotal = sizes.every((s): s is number => s !== null) ? sizes.reduce((a, b) => a + b, 0) : null;
    const loaded = new Map<string, number>();
    const out = new Map<string, Uint8Array>();
    for (const path of paths) {
      opts.signal?.throwIfAborted();
      try {
        const bytes = await this.read(path, {
          signal: opts.signal,
          onProgress: (p) => {
            loaded.set(path, p.loaded);
            const bytesDone = [...loaded.values()].reduce((a, b) => a + b, 0);
            opts.onProgress?.({ ...p, bytesDone, bytesTotal });
          },
        });
        out.set(path, bytes);
      } catch (err) {
        if (!spare(path, err)) throw err;
      }
    }
    return out;
  }
}
