import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { contentHash, KEY_SEPARATOR } from '../../pipelines/key.js';
import type { Row } from '../../src/types.js';
import { copyEscape, copyScalar, encodeStaging, fieldEncoders } from '../../src/warehouse/copy-text.js';
import { catalogs, rng } from './stage-context.js';

/**
 * The COPY encoder and the content hash read values by walking their keys (in catalog order, as clean
 * adds them), with a fallback by name; both must give exactly what the plain per-field definitions
 * give, whatever the key order, the gaps and the characters.
 */

const catalog = catalogs.get('admin-penalty');
const names = catalog.fields.map((f) => f.name);

const TEXTS = ['五常市交通运输局', 'a\tb', 'line\nbreak', 'cr\r', 'back\\slash', '\\N', '"quoted", comma', '', ' x '];
const NUMBERS = [0, 0.07, 0.16, 2000, 1e-6, 123456.789012, Number.NaN, Number.POSITIVE_INFINITY];
const LISTS = [['罚款'], ['警告', '罚款'], ['a"b', 'c\\d', 'e\tf'], []];

function randomValues(random: () => number): Record<string, unknown> {
  const pick = <T>(a: readonly T[]): T => a[Math.floor(random() * a.length)] as T;
  const entries: Array<[string, unknown]> = [];
  for (const f of catalog.fields) {
    const r = random();
    if (r < 0.35) continue; // absent
    if (r < 0.4) {
      entries.push([f.name, undefined]);
      continue;
    }
    if (f.type === 'array') entries.push([f.name, pick(LISTS)]);
    else if (f.type === 'number') entries.push([f.name, pick(NUMBERS)]);
    else entries.push([f.name, pick(TEXTS)]);
  }
  if (random() < 0.5) entries.push(['subject_key', pick(['U:91230184MA1BUFLT44', 'N:张\t三', ''])]);
  // Mostly catalog order (what clean builds); sometimes shuffled, sometimes reversed.
  const order = random();
  if (order < 0.2) entries.reverse();
  else if (order < 0.4) entries.sort(() => random() - 0.5);
  return Object.fromEntries(entries);
}

/** The per-field definitions, written plainly. */
function referenceLine(batchPrefix: string, row: Row): string {
  const encoders = fieldEncoders(catalog.fields);
  const sk = row.values.subject_key;
  const cols = [
    batchPrefix,
    String(row.prov.rowNumber),
    copyEscape(row.key as string),
    copyEscape(row.hash as string),
    typeof sk === 'string' && sk !== '' ? copyEscape(sk) : '\\N',
    ...names.map((n, i) => (encoders[i] as (v: unknown) => string)(row.values[n])),
  ];
  return cols.join('\t');
}

function referenceHash(values: Record<string, unknown>): string {
  const parts = names.map((n) => {
    const x = values[n];
    return x === undefined || x === null ? '' : Array.isArray(x) ? x.join('\u001e') : String(x);
  });
  return createHash('sha1').update(parts.join(KEY_SEPARATOR)).digest('hex');
}

describe('COPY encoding and content hash', () => {
  const random = rng(11);
  const batch = { id: 'b-1', county: '230184', file: 'a\tb.csv', sheet: null };
  const prefix = `${copyEscape(batch.id)}\t${copyScalar(batch.county)}\t${copyScalar(batch.file)}\t\\N`;
  const rows: Row[] = Array.from({ length: 3000 }, (_, i) => ({
    prov: { batchId: batch.id, file: batch.file, rowNumber: i + 2 },
    cells: [],
    values: randomValues(random),
    issues: [],
    key: i % 7 === 0 ? 'k\\1' : `k${i}`,
    hash: 'h',
  }));

  it('encodes every row as the per-field encoders do', () => {
    const out = encodeStaging(catalog, batch, rows);
    const expected = rows.map((r) => `${referenceLine(prefix, r)}\n`).join('');
    expect(out.data).toBe(expected);
    expect(out).toMatchObject({ count: rows.length, lo: 2, hi: rows.length + 1 });
    expect(encodeStaging(catalog, batch, []).data).toBe('');
  });

  it('hashes every row as the plain definition does', () => {
    for (const r of rows) expect(contentHash(names, r.values)).toBe(referenceHash(r.values));
  });
});
