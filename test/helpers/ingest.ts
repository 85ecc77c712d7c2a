import { readFileSync } from 'node:fs';
import path from 'node:path';
import { type FileResult, type IngestOptions, ingestFile } from '../../pipelines/ingest.js';
import { loadCatalogs } from '../../src/catalog/load.js';
import { makeClock } from '../../src/clock.js';
import { type GuijiConfig, loadConfig } from '../../src/config.js';
import { loadReference } from '../../src/reference.js';
import type { Logger } from '../../src/types.js';
import type { Warehouse } from '../../src/warehouse/open.js';

export const REPO = path.resolve(import.meta.dirname, '../..');
export const FIXTURES = path.join(REPO, 'fixtures');
/** The day the fixtures' expectations were written for (decision dates after it are DATE_IN_FUTURE). */
export const FIXTURE_TODAY = new Date('2026-11-27T04:00:00Z');

const catalogs = loadCatalogs();
const reference = loadReference();

/** A logger that drops everything (tests that do not look at logs). */
export const silent: Logger = {
  debug() {},
  info() {},
  warn() {},
  error() {},
  child() {
    return silent;
  },
};

/** The county defaults the fixtures need (fixtures/counties.json). */
export function fixtureConfig(): GuijiConfig {
  const counties = JSON.parse(readFileSync(path.join(FIXTURES, 'counties.json'), 'utf8')).counties;
  const base = loadConfig({ LOG_LEVEL: 'silent', GUIJI_THREADS: '0', GUIJI_HOME: '/nonexistent' }, { cwd: '/' });
  return { ...base, counties };
}

/** Ingests a file in-process, as `guiji ingest` does, with the clock pinned to the fixtures' day. */
export function ingestForTest(
  wh: Warehouse,
  file: string,
  opts: IngestOptions = {},
  now = FIXTURE_TODAY,
): Promise<FileResult> {
  return ingestFile(
    {
      config: fixtureConfig(),
      warehouse: wh,
      catalogs,
      reference,
      clock: makeClock('Asia/Shanghai', now),
      logger: silent,
    },
    file,
    opts,
  );
}

export interface RowOutcome {
  outcome: 'inserted' | 'updated' | 'unchanged' | 'duplicate' | 'rejected' | 'missing';
  errors: string[];
  warnings: string[];
}

function parse<T>(v: unknown): T {
  return (typeof v === 'string' ? JSON.parse(v) : v) as T;
}

/**
 * What the warehouse says happened to each row of a batch, by row number: rejections, duplicates (the
 * merge's record), loaded rows (lineage on the catalog table), and the warnings stored for loaded rows.
 */
export async function rowOutcomes(wh: Warehouse, batchId: string, table: string): Promise<Map<number, RowOutcome>> {
  const out = new Map<number, RowOutcome>();
  const get = (n: number) => {
    let r = out.get(n);
    if (!r) {
      r = { outcome: 'missing', errors: [], warnings: [] };
      out.set(n, r);
    }
    return r;
  };
  for (const r of await wh.knex('rejections').where('batch_id', batchId).select('row_number', 'issues')) {
    const o = get(Number(r.row_number));
    o.outcome = 'rejected';
    for (const i of parse<Array<{ code: string; severity: string }>>(r.issues)) {
      (i.severity === 'error' ? o.errors : o.warnings).push(i.code);
    }
  }
  for (const r of await wh.knex('merge_duplicates').where('batch_id', batchId).select('row_number')) {
    get(Number(r.row_number)).outcome = 'duplicate';
  }
  for (const r of await wh.knex(table).where('batch_id', batchId).select('source_row', 'version')) {
    get(Number(r.source_row)).outcome = Number(r.version) > 1 ? 'updated' : 'inserted';
  }
  for (const r of await wh.knex('row_warnings').where('batch_id', batchId).select('row_number', 'issues')) {
    const o = get(Number(r.row_number));
    for (const i of parse<Array<{ code: string; severity: string }>>(r.issues)) {
      if (i.severity === 'warning' && !o.warnings.includes(i.code)) o.warnings.push(i.code);
    }
  }
  for (const o of out.values()) {
    o.errors = [...new Set(o.errors)].sort();
    o.warnings = [...new Set(o.warnings)].sort();
  }
  return out;
}
