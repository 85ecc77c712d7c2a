import type { ValidateFunction } from 'ajv';

/**
 * How the clean stage treats a field (`x-clean` in the catalog):
 * - text: trim, placeholders → empty, keep the characters (names keep their brackets)
 * - code: NFKC, remove whitespace/hyphens, upper-case; all-zero codes → empty (USCC, org code, ID numbers)
 * - date: every form of domain.md §7.2 → YYYY-MM-DD; 长期/永久 → 2099-12-31
 * - money: number in the field's unit (万元); 元 converted when the header or cell says 元
 * - enum: one value of a code table (Chinese words and local numeric codes → one canonical value)
 * - enum-list: one or more values of a code table, split on ; ； 、 ， , /
 */
export type CleanKind = 'text' | 'code' | 'date' | 'money' | 'enum' | 'enum-list';

/** One catalog field, read from a property of the catalog's JSON Schema. */
export interface FieldDef {
  /** snake_case name: the JSON property and the warehouse column. */
  name: string;
  /** Chinese title (数据项名称), e.g. 行政相对人名称. */
  title: string;
  /** Standard column code of the current template, e.g. CF_XDR_MC. */
  column: string;
  /** Other header spellings: Chinese aliases and old-template codes (domain.md §7.1, §1.2). */
  aliases: string[];
  clean: CleanKind;
  /** JSON type of the cleaned value. */
  type: 'string' | 'number' | 'array';
  maxLength?: number;
  /** Always required (in the schema's top-level `required`). */
  required: boolean;
  /** Name of a code table in schemas/code-tables.json (enum and enum-list). */
  codeTable?: string;
  /** Exchanged but never published: masked in public output (证件号码). */
  personal: boolean;
  /** Unit of a money field, always 万元 for 双公示. */
  unit?: '万元';
  /** ajv format checked by validate (uscc, org-code, resident-id, …). */
  format?: string;
  /** Name of the county-config default that fills this field when the column is absent (DESIGN.md §4). */
  countyDefault?: string;
  /** Warehouse SQL type, derived from type/clean/maxLength. */
  sqlType: string;
}

/** A code table: canonical values and every spelling that normalises to each. */
export interface CodeTable {
  id: string;
  title: string;
  /** canonical value → accepted spellings (Chinese words, local numeric codes, free-text variants). */
  values: Record<string, string[]>;
  /** Free text starting with this prefix is accepted as is (e.g. `其他-` for 证件类型). */
  freeTextPrefix?: string;
}

/** Who a record is about (used for the subject key and masking). */
export interface SubjectFields {
  name: string;
  category: string;
  uscc: string;
  idType?: string;
  idNo: string;
}

/** A compiled catalog. Loaded once; immutable. */
export interface Catalog {
  id: string;
  /** Chinese title, e.g. 行政处罚. */
  title: string;
  /** Warehouse table name (checked snake_case). */
  table: string;
  /** Column-code prefix of the 双公示 template: CF or XK. */
  prefix: string;
  version: number;
  fields: FieldDef[];
  byName: ReadonlyMap<string, FieldDef>;
  /** Fields making the natural key; `subject_key` is derived (USCC if valid, else ID number, else name key). */
  naturalKey: string[];
  subject: SubjectFields;
  /** Field holding the decision date (7-working-day rule; not after today). */
  decisionDate: string;
  /** Pairs [from, to] that must satisfy from ≤ to. */
  dateOrder: Array<[string, string]>;
  /** The JSON Schema as loaded (draft 2020-12). */
  schema: Record<string, unknown>;
  /** ajv validator compiled once. */
  validate: ValidateFunction;
  codeTables: ReadonlyMap<string, CodeTable>;
  /**
   * normalizeHeader(spelling) → field name for every title, column code and alias (see
   * `catalog/aliases.ts`); built once by the loader, which refuses a catalog where one key names two fields.
   */
  headerIndex?: ReadonlyMap<string, string>;
}
