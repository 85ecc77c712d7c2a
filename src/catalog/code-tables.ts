import { readFileSync } from 'node:fs';
import { configError } from '../errors.js';
import type { CodeTable } from './types.js';

// NFKC turns full-width letters, digits and the ideographic space into ASCII first.
const SPACES = /[\s\u200b-\u200d\ufeff]/g;
const LIST_SEPARATORS = /[;；、，,/]/;

/** The key a code spelling is looked up by: NFKC, no whitespace, case-insensitive. */
export function normalizeCode(text: string): string {
  return text.normalize('NFKC').replace(SPACES, '').toUpperCase();
}

/**
 * Reads `code-tables.json`: `{ id: { title, values: { canonical: [spellings…] }, freeTextPrefix? } }`.
 * Throws a ConfigError naming the file and the JSON path of the first bad entry, also when one
 * spelling would resolve to two canonical values.
 */
export function loadCodeTables(file: string): Map<string, CodeTable> {
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(file, 'utf8'));
  } catch (e) {
    throw configError(
      'CODE_TABLES_UNREADABLE',
      `代码表文件 ${file} 无法读取或不是合法 JSON`,
      `cannot read ${file}: ${String(e)}`,
      {
        file,
      },
    );
  }
  const bad = (path: string, what: string) =>
    configError('CODE_TABLE_INVALID', `代码表文件 ${file} 的 ${path} 有误：${what}`, `${file} ${path}: ${what}`, {
      file,
      path,
    });
  if (!isObject(raw)) throw bad('$', 'expected an object of code tables');
  const tables = new Map<string, CodeTable>();
  for (const [id, t] of Object.entries(raw)) {
    const at = `$["${id}"]`;
    if (!isObject(t)) throw bad(at, 'expected an object');
    if (typeof t.title !== 'string' || t.title === '') throw bad(`${at}.title`, 'expected a non-empty string');
    if (t.freeTextPrefix !== undefined && typeof t.freeTextPrefix !== 'string')
      throw bad(`${at}.freeTextPrefix`, 'expected a string');
    if (!isObject(t.values) || Object.keys(t.values).length === 0)
      throw bad(`${at}.values`, 'expected a non-empty object');
    const values: Record<string, string[]> = {};
    for (const [canonical, spellings] of Object.entries(t.values)) {
      if (!Array.isArray(spellings) || !spellings.every((s) => typeof s === 'string' && s !== '')) {
        throw bad(`${at}.values["${canonical}"]`, 'expected an array of non-empty strings');
      }
      values[canonical] = spellings as string[];
    }
    const table: CodeTable = { id, title: t.title, values };
    if (typeof t.freeTextPrefix === 'string') table.freeTextPrefix = t.freeTextPrefix;
    try {
      buildSpellingMap(table);
    } catch (e) {
      throw bad(`${at}.values`, (e as Error).message);
    }
    tables.set(id, table);
  }
  return tables;
}

/** normalised spelling (and canonical value) → canonical value; throws on a spelling naming two values. */
export function buildSpellingMap(table: CodeTable): Map<string, string> {
  const map = new Map<string, string>();
  const put = (spelling: string, canonical: string) => {
    const key = normalizeCode(spelling);
    const other = map.get(key);
    if (other !== undefined && other !== canonical) {
      throw new Error(`spelling "${spelling}" of ${table.id} means both "${other}" and "${canonical}"`);
    }
    map.set(key, canonical);
  };
  // Canonical values first, so a spelling that collides with another canonical value is reported.
  for (const canonical of Object.keys(table.values)) put(canonical, canonical);
  for (const [canonical, spellings] of Object.entries(table.values)) for (const s of spellings) put(s, canonical);
  return map;
}

/**
 * A fast resolver for one code table: any spelling or canonical value (full-width, spaced,
 * any case) → the canonical value; free text starting with the table's `freeTextPrefix`
 * (e.g. `其他-军官证`) → that text, NFKC-normalised and trimmed; anything else → undefined.
 */
export function makeCodeLookup(table: CodeTable): (text: string) => string | undefined {
  const map = buildSpellingMap(table);
  const prefix = table.freeTextPrefix?.normalize('NFKC');
  return (text) => {
    const hit = map.get(normalizeCode(text));
    if (hit !== undefined) return hit;
    if (prefix !== undefined) {
      const t = text.normalize('NFKC').trim();
      if (t.length > prefix.length && t.startsWith(prefix)) return t;
    }
    return undefined;
  };
}

/** Result of resolving a multi-valued cell (e.g. 处罚类别 `罚款；没收违法所得`). */
export interface CodeListResult {
  /** Canonical values in the cell's order, without repeats. */
  values: string[];
  /** Parts that matched no spelling, as the cell had them. */
  unknown: string[];
}

/**
 * A resolver for cells holding several values of one table, separated by `; ； 、 ， , /`.
 * Some canonical values contain `、` themselves (the pre-2021 `没收违法所得、没收非法财物`),
 * so adjacent parts are first tried joined (longest match wins) before they are taken alone.
 */
export function makeCodeListLookup(table: CodeTable): (text: string) => CodeListResult {
  const one = makeCodeLookup(table);
  let maxParts = 1;
  for (const [canonical, spellings] of Object.entries(table.values)) {
    for (const s of [canonical, ...spellings]) maxParts = Math.max(maxParts, s.split(LIST_SEPARATORS).length);
  }
  return (text) => {
    const parts = text
      .normalize('NFKC')
      .split(LIST_SEPARATORS)
      .map((p) => p.trim())
      .filter((p) => p !== '');
    const values: string[] = [];
    const unknown: string[] = [];
    let i = 0;
    while (i < parts.length) {
      let matched = 0;
      for (let n = Math.min(maxParts, parts.length - i); n >= 1; n--) {
        const hit = one(parts.slice(i, i + n).join('、'));
        if (hit !== undefined) {
          if (!values.includes(hit)) values.push(hit);
          matched = n;
          break;
        }
      }
      if (matched === 0) {
        unknown.push(parts[i] as string);
        matched = 1;
      }
      i += matched;
    }
    return { values, unknown };
  };
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}
