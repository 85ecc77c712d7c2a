import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * The package root: the nearest folder above this module holding package.json. The module runs
 * from `src/catalog/` under vitest and from `dist/src/catalog/` when built, so a fixed `../..`
 * would be wrong in one of the two.
 */
export function packageRoot(from: string = dirname(fileURLToPath(import.meta.url))): string {
  let dir = from;
  for (;;) {
    if (existsSync(join(dir, 'package.json'))) return dir;
    const up = dirname(dir);
    if (up === dir) throw new Error(`no package.json above ${from}`);
    dir = up;
  }
}

/** `schemas/` of the package (catalogs, code tables, reference data). */
export function schemasDir(): string {
  return join(packageRoot(), 'schemas');
}
