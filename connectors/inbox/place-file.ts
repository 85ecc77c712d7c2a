import { access, mkdir, rename, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { REASON_SUFFIX, withNumericSuffix } from './file-names.js';

const MAX_SUFFIX = 10_000;

/** Where a file was put, and its reason file if one was written. */
export interface PlacedFile {
  path: string;
  reasonPath?: string;
}

/**
 * Moves `source` into `dir` as `fileName`, or `fileName (2)`, `(3)`… when taken: never overwrites.
 * `rename` would replace an existing file silently, so the name (and its reason file) is first
 * reserved with an exclusive create, which also keeps two watchers from picking the same name.
 * `fileName` must be a safe name (file-names.ts); `dir` must be on the source's filesystem.
 */
export async function placeFile(
  source: string,
  dir: string,
  fileName: string,
  reasonText: string | null,
): Promise<PlacedFile> {
  await mkdir(dir, { recursive: true });
  for (let n = 1; n <= MAX_SUFFIX; n++) {
    const target = path.join(dir, n === 1 ? fileName : withNumericSuffix(fileName, n));
    const reasonPath = `${target}${REASON_SUFFIX}`;
    if (!(await createExclusive(target, ''))) continue;
    const reasonFree =
      reasonText === null ? !(await exists(reasonPath)) : await createExclusive(reasonPath, reasonText);
    if (!reasonFree) {
      await rm(target, { force: true });
      continue;
    }
    try {
      await rename(source, target);
    } catch (e) {
      await rm(target, { force: true });
      if (reasonText !== null) await rm(reasonPath, { force: true });
      throw e;
    }
    return reasonText === null ? { path: target } : { path: target, reasonPath };
  }
  throw new Error(`no free name for ${fileName} in ${dir} after ${MAX_SUFFIX} tries`);
}

async function createExclusive(file: string, content: string): Promise<boolean> {
  try {
    await writeFile(file, content, { flag: 'wx' });
    return true;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw e;
  }
}

async function exists(file: string): Promise<boolean> {
  try {
    await access(file);
    return true;
  } catch {
    return false;
  }
}
