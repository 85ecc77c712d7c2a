/**
 * What a batch needs before its rows can run through the stages: its county (DESIGN.md §3) and the
 * county defaults for always-required columns the file lacks. The same for every executor.
 */
import path from 'node:path';
import type { Catalog } from '../src/catalog/types.js';
import type { GuijiConfig } from '../src/config.js';
import { inputError } from '../src/errors.js';
import { isValidUscc, usccRegistrationDivision } from '../src/identifiers/index.js';
import type { ReferenceData } from '../src/pipeline.js';
import type { CsvBytesChunk, MatchedSheet, RawRecord } from '../src/source.js';
import type { ColumnBinding } from '../src/types.js';
import { cleanCode } from './cell-text.js';
import { rejectionIdColumn } from './rejection-id.js';

/** The parts of a matched sheet (or a sync source) batch setup looks at. */
export interface BatchSource {
  /** File (or source) name, for messages. */
  file: string;
  sheet?: string;
  catalog: Catalog;
  columns: ColumnBinding[];
}

export interface SetupDeps {
  config: GuijiConfig;
  reference: ReferenceData;
}

/**
 * County (DESIGN.md §3): --county, else the division code (positions 3–8) of the data-source unit's USCC.
 * A prefecture code (xx00) is a valid county for a city-level office.
 */
export function resolveCounty(deps: SetupDeps, sheet: BatchSource, firstChunk: RawRecord[], explicit?: string): string {
  const name = path.basename(sheet.file);
  if (explicit !== undefined) {
    const code = explicit.trim();
    if (!/^[1-9]\d{5}$/.test(code) || !isKnownCounty(deps.reference, code)) {
      throw inputError(
        'COUNTY_INVALID',
        `区县代码“${explicit}”无效：请填写 6 位行政区划代码，例如 230184（五常市）；地市级单位可填 230100。`,
        `invalid county code ${explicit}`,
        { file: name },
      );
    }
    return code;
  }
  const seen = new Map<string, number>();
  const bindings = sheet.columns.filter((c) => c.field === 'source_unit_uscc');
  for (const rec of firstChunk) {
    for (const b of bindings) {
      const raw = rec.cells[b.index];
      if (typeof raw !== 'string') continue;
      const code = cleanCode(raw); // the same code cleaning the clean stage applies
      if (!isValidUscc(code)) continue;
      const div = usccRegistrationDivision(code);
      if (div && isKnownCounty(deps.reference, div)) seen.set(div, (seen.get(div) ?? 0) + 1);
    }
  }
  let best: string | undefined;
  for (const [code, n] of seen) if (!best || n > (seen.get(best) ?? 0)) best = code;
  if (!best) {
    throw inputError(
      'COUNTY_UNKNOWN',
      `无法确定文件 ${name} 属于哪个区县：文件中没有有效的“数据来源单位统一社会信用代码”。请用 --county 指定，例如 --county 230184。`,
      `cannot tell the county of ${name}: no valid source-unit USCC; pass --county`,
      { file: name },
    );
  }
  return best;
}

export function isKnownCounty(ref: ReferenceData, code: string): boolean {
  if (ref.divisions.has(code) || ref.historicalDivisions.has(code)) return true;
  // Outside the provinces whose division list we ship, accept a well-formed code.
  const province = `${code.slice(0, 2)}0000`;
  return !ref.divisions.has(province) && /^[1-9]\d{5}$/.test(code);
}

/**
 * Always-required fields the file lacks are filled from the county's defaults; without one the file is
 * refused, naming every missing column.
 */
export function resolveDefaults(deps: SetupDeps, sheet: BatchSource, county: string): Record<string, string> {
  const { catalog } = sheet;
  const bound = new Set(sheet.columns.map((c) => c.field));
  const configured = deps.config.counties[county]?.defaults ?? {};
  const defaults: Record<string, string> = {};
  const missing: Catalog['fields'] = [];
  for (const f of catalog.fields) {
    if (bound.has(f.name)) continue;
    const value = configured[f.name];
    if (value !== undefined) defaults[f.name] = value;
    else if (f.required) missing.push(f);
  }
  if (missing.length > 0) {
    const where = sheet.sheet ? `工作表“${sheet.sheet}”` : '文件';
    const list = missing.map((f) => `${f.title}（${f.column}）`).join('、');
    throw inputError(
      'REQUIRED_COLUMN_MISSING',
      `${path.basename(sheet.file)} ${where}缺少必填列：${list}。请在表头中补上这些列（可用“guiji template ${catalog.id}”生成标准模板），或在配置文件的 counties.${county}.defaults 中为本区县设置默认值。`,
      `${sheet.file}${sheet.sheet ? ` [${sheet.sheet}]` : ''}: required columns missing: ${missing.map((f) => f.column).join(', ')}`,
      { file: path.basename(sheet.file), sheet: sheet.sheet, missing: missing.map((f) => f.name) },
    );
  }
  return defaults;
}

/**
 * What a batch reads of its sheet: a CSV as bytes cut at record ends when whoever runs the stages can split
 * them (`bytesOk`), unless its rows carry rejection ids, which are looked up where the records are; else
 * records.
 */
export function sheetChunks(sheet: MatchedSheet, bytesOk: boolean): AsyncIterator<RawRecord[] | CsvBytesChunk> {
  const chunks = bytesOk && rejectionIdColumn(sheet.headers) < 0 ? sheet.chunks : undefined;
  return (chunks ?? sheet.records)[Symbol.asyncIterator]();
}
