/**
 * key: the natural key (DESIGN.md §2) and a content hash of every catalog field. No dedup here:
 * duplicates are resolved across the whole batch by the warehouse merge.
 */
import { hash } from 'node:crypto';
import type { Catalog } from '../src/catalog/types.js';
import { isValidUscc } from '../src/identifiers/index.js';
import { hasError, plannedStage, type Stage, type StageContext, type StageReport } from '../src/pipeline.js';
import type { Row } from '../src/types.js';
import { unifyBrackets, upperCase } from './cell-text.js';

/** The derived key part: USCC if valid, else ID number, else the name match key. */
export const SUBJECT_KEY = 'subject_key';
/** Separates the parts of a key and the fields of the hashed content (never in cleaned text). */
export const KEY_SEPARATOR = '\u001f';
const LIST_SEPARATOR = '\u001e';

/**
 * The key two spellings of one name share: NFKC, no whitespace, every bracket style → ( ).
 * `某某运输有限公司（分公司）` and `某某运输有限公司 (分公司)` give the same key.
 */
export function nameMatchKey(name: string): string {
  return unifyBrackets(name);
}

/** A decision number as a key: NFKC, no whitespace, brackets unified (〔2019〕 = [2019] = (2019)), upper-case. */
export function docNumberKey(docNo: string): string {
  return upperCase(unifyBrackets(docNo));
}

/** Subject key with its kind, so a name can never equal a code: `U:…`, `I:…`, `N:…`. */
export function subjectKey(catalog: Catalog, values: Record<string, unknown>): string {
  const s = catalog.subject;
  const uscc = values[s.uscc];
  if (typeof uscc === 'string' && isValidUscc(uscc)) return `U:${uscc}`;
  const id = values[s.idNo];
  if (typeof id === 'string' && id !== '') return `I:${id}`;
  const name = values[s.name];
  return `N:${typeof name === 'string' ? nameMatchKey(name) : ''}`;
}

/** Plans the key stage once per catalog. */
export function makeKeyer(ctx: StageContext): (rows: Row[]) => StageReport {
  const { catalog } = ctx;
  // Per key part: the field read, and whether it is free text (the 文号) needing its own normalisation;
  // codes are already canonical after clean. `undefined` stands for the derived subject key.
  const parts = catalog.naturalKey.map((name) => {
    if (name === SUBJECT_KEY) return undefined;
    return { name, text: catalog.byName.get(name)?.clean === 'text' };
  });
  const hashPlan = makeHashPlan(catalog.fields.map((f) => f.name));

  return (rows) => {
    const t0 = performance.now();
    let keyed = 0;
    for (const row of rows) {
      if (hasError(row)) continue;
      const v = row.values;
      const sk = subjectKey(catalog, v);
      let key = '';
      for (let i = 0; i < parts.length; i++) {
        if (i > 0) key += KEY_SEPARATOR;
        const p = parts[i];
        if (p === undefined) {
          key += sk;
          continue;
        }
        const x = v[p.name];
        if (x === undefined || x === null) continue;
        key += p.text ? docNumberKey(String(x)) : String(x);
      }
      row.key = key;
      // Derived, not a catalog field (the hash below ignores it): the warehouse stores it for lookups.
      v[SUBJECT_KEY] = sk;
      row.hash = hashValues(hashPlan, v);
      keyed++;
    }
    return { rows, counts: { rows: rows.length, keyed }, ms: performance.now() - t0 };
  };
}

/** sha1 (hex) over the catalog fields in catalog order; arrays joined, empty = ''. */
export function contentHash(names: readonly string[], values: Record<string, unknown>): string {
  return hashValues(makeHashPlan(names), values);
}

/** What hashing needs of a catalog's field list, made once per plan. */
interface HashPlan {
  names: readonly string[];
  known: ReadonlySet<string>;
  /** One text per field, reused row after row (join writes one flat string). */
  parts: string[];
}

function makeHashPlan(names: readonly string[]): HashPlan {
  return { names, known: new Set(names), parts: new Array(names.length).fill('') };
}

/** Text of the numbers seen lately: amounts repeat, and a double's shortest form is slow to find. */
const numberTexts = new Map<number, string>();

function fieldText(x: unknown): string {
  if (typeof x === 'string') return x;
  if (x === undefined || x === null) return '';
  if (typeof x === 'number') {
    let t = numberTexts.get(x);
    if (t === undefined) {
      t = String(x);
      if (numberTexts.size >= 4096) numberTexts.clear();
      numberTexts.set(x, t);
    }
    return t;
  }
  return Array.isArray(x) ? x.join(LIST_SEPARATOR) : String(x);
}

/**
 * contentHash with a plan. The values are read by a for-in walk (clean adds them in catalog order), not
 * by a lookup per field name: values objects come in dozens of shapes, which makes such lookups
 * megamorphic. Values in another order are read by name.
 */
function hashValues(plan: HashPlan, values: Record<string, unknown>): string {
  const { names, known, parts } = plan;
  const width = names.length;
  let next = 0;
  for (const k in values) {
    let i = next;
    while (i < width && names[i] !== k) i++;
    if (i === width) {
      if (known.has(k)) return hash('sha1', byName(names, values, parts).join(KEY_SEPARATOR), 'hex');
      continue; // not a catalog field (subject_key)
    }
    while (next < i) parts[next++] = '';
    parts[i] = fieldText(values[k]);
    next = i + 1;
  }
  while (next < width) parts[next++] = '';
  return hash('sha1', parts.join(KEY_SEPARATOR), 'hex');
}

function byName(names: readonly string[], values: Record<string, unknown>, parts: string[]): string[] {
  for (let i = 0; i < names.length; i++) parts[i] = fieldText(values[names[i] as string]);
  return parts;
}

/** The key stage (plans once per context). */
export const key: Stage = plannedStage(makeKeyer);
