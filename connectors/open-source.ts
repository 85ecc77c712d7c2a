import { basename } from 'node:path';
import type { Catalog } from '../src/catalog/types.js';
import { inputError } from '../src/errors.js';
import type { ReadOptions, SheetEvent } from '../src/source.js';
import { openCsv } from './csv/read-csv.js';
import { sniffFile } from './sniff.js';

/**
 * Every sheet of a county file, matched to a catalog or skipped with a reason. The reader is
 * chosen by the file's bytes, never its extension (an .xls or HTML named .xlsx is refused with
 * FILE_NOT_XLSX). Input problems (empty or unreadable file, no header anywhere, unknown sheet or
 * catalog) are thrown as input errors (exit code 2).
 *
 * Workbooks are streamed: consume each sheet's `records` before asking for the next event.
 */
export async function* openSource(
  path: string,
  catalogs: readonly Catalog[],
  opts: ReadOptions = {},
): AsyncGenerator<SheetEvent> {
  if (opts.catalogId !== undefined && !catalogs.some((c) => c.id === opts.catalogId)) {
    const known = catalogs.map((c) => `${c.id}（${c.title}）`).join('、');
    throw inputError(
      'UNKNOWN_CATALOG',
      `没有名为“${opts.catalogId}”的信息目录。可用的目录有：${known}。`,
      `Unknown catalog ${opts.catalogId}; known: ${catalogs.map((c) => c.id).join(', ')}`,
      { file: opts.displayName ?? basename(path), catalog: opts.catalogId },
    );
  }
  const sniffed = await sniffFile(path, opts.displayName);
  if (sniffed.kind === 'xlsx') {
    // exceljs is large: load it only for workbooks (a CSV run, and its start-up, never pays for it).
    const { readXlsx } = await import('./xlsx/read-xlsx.js');
    yield* readXlsx(path, catalogs, opts);
    return;
  }
  yield { kind: 'sheet', sheet: await openCsv(path, catalogs, opts) };
}
