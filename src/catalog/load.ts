import { readdirSync, readFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import type { ErrorObject } from 'ajv';
import { Ajv2020 } from 'ajv/dist/2020.js';
import addFormats from 'ajv-formats';
import { configError, type GuijiError, inputError } from '../errors.js';
import { isValidOrgCode, isValidResidentId, isValidUscc } from '../identifiers/index.js';
import { AliasConflictError, buildAliasIndex } from './aliases.js';
import { buildSpellingMap, loadCodeTables } from './code-tables.js';
import { schemasDir } from './paths.js';
import type { Catalog, CleanKind, CodeTable, FieldDef, SubjectFields } from './types.js';

/** Every catalog of a schemas folder, compiled once. */
export interface CatalogSet {
  list: Catalog[];
  /** The catalog with this id; throws an input error UNKNOWN_CATALOG naming the known ids. */
  get(id: string): Catalog;
}

export interface LoadCatalogsOptions {
  /** Folder holding `*.schema.json` and `code-tables.json`; default: the package's `schemas/`. */
  dir?: string;
}

const CLEAN_KINDS: readonly CleanKind[] = ['text', 'code', 'date', 'money', 'enum', 'enum-list'];
const SQL_TYPES: Record<CleanKind, string> = {
  text: 'text',
  code: 'text',
  date: 'date',
  money: 'numeric(18,6)',
  enum: 'text',
  'enum-list': 'text[]',
};
const JSON_TYPE: Record<CleanKind, FieldDef['type']> = {
  text: 'string',
  code: 'string',
  date: 'string',
  money: 'number',
  enum: 'string',
  'enum-list': 'array',
};
const SNAKE = /^[a-z][a-z0-9_]{0,62}$/;
const KEBAB = /^[a-z][a-z0-9-]{0,62}$/;
/** Derived by the key stage, not a column: USCC if valid, else ID number, else the name key (DESIGN.md §2). */
const SUBJECT_KEY = 'subject_key';

const CATALOG_BLOCK = {
  type: 'object',
  required: ['id', 'title', 'table', 'prefix', 'version', 'naturalKey', 'subject', 'decisionDate', 'dateOrder'],
  additionalProperties: false,
  properties: {
    id: { type: 'string', pattern: KEBAB.source },
    title: { type: 'string', minLength: 1 },
    table: { type: 'string', pattern: SNAKE.source },
    prefix: { type: 'string', pattern: '^[A-Z]{1,8}$' },
    version: { type: 'integer', minimum: 1 },
    naturalKey: { type: 'array', minItems: 1, uniqueItems: true, items: { type: 'string' } },
    subject: {
      type: 'object',
      required: ['name', 'category', 'uscc', 'idNo'],
      additionalProperties: false,
      properties: {
        name: { type: 'string' },
        category: { type: 'string' },
        uscc: { type: 'string' },
        idType: { type: 'string' },
        idNo: { type: 'string' },
      },
    },
    decisionDate: { type: 'string' },
    dateOrder: {
      type: 'array',
      items: { type: 'array', minItems: 2, maxItems: 2, items: { type: 'string' } },
    },
  },
} as const;

/** The `x-` annotation keywords of a catalog, registered so ajv stays strict. */
const X_KEYWORDS: Record<string, object> = {
  'x-catalog': CATALOG_BLOCK,
  'x-column': { type: 'string', pattern: '^[A-Z][A-Z0-9_]*$' },
  'x-aliases': { type: 'array', uniqueItems: true, items: { type: 'string', minLength: 1 } },
  'x-clean': { enum: CLEAN_KINDS },
  'x-codes': { type: 'string', minLength: 1 },
  'x-personal': { type: 'boolean' },
  'x-unit': { const: '万元' },
  'x-county-default': { type: 'string', pattern: SNAKE.source },
};

/**
 * Options of a catalog ajv. `fast` makes a yes/no validator for the common, valid row: it stops at the
 * first error and measures maxLength in UTF-16 units (never fewer than code points, so it only ever
 * rejects more, never less). A row it rejects is validated again by the full ajv for the exact errors.
 */
export interface CatalogAjvOptions {
  fast?: boolean;
}

/** An ajv (draft 2020-12, strict, all errors) with the catalog keywords and formats. */
export function makeCatalogAjv(opts: CatalogAjvOptions = {}): Ajv2020 {
  const ajv = opts.fast
    ? // `unicode` is deprecated in ajv 8 but honoured; its deprecation notice is all `logger: false` silences
      // here (strict mode throws, it does not log).
      new Ajv2020({ strict: true, allErrors: false, unicode: false, logger: false })
    : new Ajv2020({ strict: true, allErrors: true });
  addFormats.default(ajv);
  for (const [keyword, metaSchema] of Object.entries(X_KEYWORDS)) ajv.addKeyword({ keyword, metaSchema });
  ajv.addFormat('uscc', { type: 'string', validate: isValidUscc });
  ajv.addFormat('org-code', { type: 'string', validate: isValidOrgCode });
  ajv.addFormat('resident-id', { type: 'string', validate: (s: string) => isValidResidentId(s) });
  return ajv;
}

/**
 * Loads and compiles every `*.schema.json` of the schemas folder, with the shared code tables.
 * A bad catalog throws a ConfigError naming the file and the JSON path of what is wrong.
 */
export function loadCatalogs(opts: LoadCatalogsOptions = {}): CatalogSet {
  const dir = opts.dir ?? schemasDir();
  const codeTables: ReadonlyMap<string, CodeTable> = loadCodeTables(join(dir, 'code-tables.json'));
  const ajv = makeCatalogAjv();
  const blockCheck = ajv.compile(CATALOG_BLOCK);
  const files = readdirSync(dir)
    .filter((f) => f.endsWith('.schema.json'))
    .sort();
  const list: Catalog[] = [];
  const byId = new Map<string, Catalog>();
  const tables = new Set<string>();
  for (const f of files) {
    const file = join(dir, f);
    const catalog = loadOne(file, ajv, blockCheck, codeTables);
    if (byId.has(catalog.id)) throw bad(file, '$["x-catalog"].id', `catalog id ${catalog.id} is used by two files`);
    if (tables.has(catalog.table)) {
      throw bad(file, '$["x-catalog"].table', `table ${catalog.table} is used by two catalogs`);
    }
    byId.set(catalog.id, catalog);
    tables.add(catalog.table);
    list.push(catalog);
  }
  return {
    list,
    get(id: string): Catalog {
      const c = byId.get(id);
      if (c !== undefined) return c;
      const known = [...byId.keys()];
      throw inputError(
        'UNKNOWN_CATALOG',
        `没有名为“${id}”的目录。可用的目录：${known.join('、')}`,
        `unknown catalog "${id}"; known catalogs: ${known.join(', ')}`,
        { catalog: id, known },
      );
    },
  };
}

function loadOne(
  file: string,
  ajv: Ajv2020,
  blockCheck: (data: unknown) => boolean,
  codeTables: ReadonlyMap<string, CodeTable>,
): Catalog {
  let schema: Record<string, unknown>;
  try {
    const parsed: unknown = JSON.parse(readFileSync(file, 'utf8'));
    if (!isObject(parsed)) throw new Error('the top level is not an object');
    schema = parsed;
  } catch (e) {
    throw bad(file, '$', `not a readable JSON object: ${(e as Error).message}`);
  }

  const block = schema['x-catalog'];
  if (!blockCheck(block)) {
    const err = (blockCheck as unknown as { errors?: ErrorObject[] }).errors?.[0];
    throw bad(file, `$["x-catalog"]${pointerToPath(err?.instancePath ?? '')}`, err?.message ?? 'invalid');
  }
  const meta = block as CatalogBlock;
  const expectedId = basename(file, '.schema.json');
  if (meta.id !== expectedId) throw bad(file, '$["x-catalog"].id', `id must be the file name "${expectedId}"`);

  const props = schema.properties;
  if (!isObject(props) || Object.keys(props).length === 0) throw bad(file, '$.properties', 'no properties');
  const required = new Set(Array.isArray(schema.required) ? (schema.required as string[]) : []);
  for (const r of required) if (!(r in props)) throw bad(file, '$.required', `"${r}" is not a property`);

  const fields = Object.entries(props).map(([name, p]) => fieldDef(file, name, p, required.has(name), codeTables));
  const byName = new Map(fields.map((f) => [f.name, f] as const));

  const fieldRef = (path: string, name: string, clean?: CleanKind) => {
    const f = byName.get(name);
    if (f === undefined) throw bad(file, path, `"${name}" is not a property`);
    if (clean !== undefined && f.clean !== clean) throw bad(file, path, `"${name}" must have x-clean "${clean}"`);
  };
  meta.naturalKey.forEach((k, i) => {
    if (k !== SUBJECT_KEY) fieldRef(`$["x-catalog"].naturalKey[${i}]`, k);
  });
  for (const [k, v] of Object.entries(meta.subject)) fieldRef(`$["x-catalog"].subject.${k}`, v);
  fieldRef('$["x-catalog"].decisionDate', meta.decisionDate, 'date');
  meta.dateOrder.forEach((pair, i) => {
    pair.forEach((d, j) => {
      fieldRef(`$["x-catalog"].dateOrder[${i}][${j}]`, d, 'date');
    });
  });

  // The conditional rules name fields by string; ajv cannot see a typo there (each `then` declares what it requires).
  const allOf = Array.isArray(schema.allOf) ? schema.allOf : [];
  allOf.forEach((rule, i) => {
    if (!isObject(rule)) return;
    for (const part of ['if', 'then', 'else'] as const) {
      const sub = rule[part];
      if (!isObject(sub)) continue;
      const at = `$.allOf[${i}].${part}`;
      const names = [
        ...(isObject(sub.properties) ? Object.keys(sub.properties) : []),
        ...(Array.isArray(sub.required) ? (sub.required as string[]) : []),
      ];
      for (const n of names) fieldRef(at, n);
    }
  });

  let headerIndex: Map<string, string>;
  try {
    headerIndex = buildAliasIndex(fields);
  } catch (e) {
    if (!(e instanceof AliasConflictError)) throw e;
    throw bad(file, `$.properties.${e.second.field}`, e.message);
  }

  let validate: Catalog['validate'];
  try {
    validate = ajv.compile(schema);
  } catch (e) {
    throw bad(file, '$', `JSON Schema does not compile: ${(e as Error).message}`);
  }

  const subject: SubjectFields = {
    name: meta.subject.name,
    category: meta.subject.category,
    uscc: meta.subject.uscc,
    idNo: meta.subject.idNo,
  };
  if (meta.subject.idType !== undefined) subject.idType = meta.subject.idType;

  return Object.freeze({
    id: meta.id,
    title: meta.title,
    table: meta.table,
    prefix: meta.prefix,
    version: meta.version,
    fields,
    byName,
    naturalKey: [...meta.naturalKey],
    subject,
    decisionDate: meta.decisionDate,
    dateOrder: meta.dateOrder.map(([a, b]) => [a, b] as [string, string]),
    schema,
    validate,
    codeTables,
    headerIndex,
  });
}

interface CatalogBlock {
  id: string;
  title: string;
  table: string;
  prefix: string;
  version: number;
  naturalKey: string[];
  subject: { name: string; category: string; uscc: string; idType?: string; idNo: string };
  decisionDate: string;
  dateOrder: Array<[string, string]>;
}

function fieldDef(
  file: string,
  name: string,
  p: unknown,
  required: boolean,
  codeTables: ReadonlyMap<string, CodeTable>,
): FieldDef {
  const at = `$.properties.${name}`;
  if (!SNAKE.test(name)) throw bad(file, at, 'a field name must be snake_case (it becomes a column)');
  if (!isObject(p)) throw bad(file, at, 'expected an object');
  const title = p.title;
  const column = p['x-column'];
  const clean = p['x-clean'];
  if (typeof title !== 'string' || title === '') throw bad(file, `${at}.title`, 'every field needs a Chinese title');
  if (typeof column !== 'string' || column === '')
    throw bad(file, `${at}["x-column"]`, 'every field needs a column code');
  if (typeof clean !== 'string' || !CLEAN_KINDS.includes(clean as CleanKind)) {
    throw bad(file, `${at}["x-clean"]`, `expected one of ${CLEAN_KINDS.join(', ')}`);
  }
  const kind = clean as CleanKind;
  if (p.type !== JSON_TYPE[kind]) throw bad(file, `${at}.type`, `x-clean "${kind}" needs type "${JSON_TYPE[kind]}"`);
  if (kind === 'date' && p.format !== 'date') throw bad(file, `${at}.format`, 'a date field needs format "date"');
  const aliases = p['x-aliases'] ?? [];
  if (!Array.isArray(aliases) || !aliases.every((a) => typeof a === 'string')) {
    throw bad(file, `${at}["x-aliases"]`, 'expected an array of strings');
  }

  const def: FieldDef = {
    name,
    title,
    column,
    aliases: aliases as string[],
    clean: kind,
    type: JSON_TYPE[kind],
    required,
    personal: p['x-personal'] === true,
    sqlType: SQL_TYPES[kind],
  };
  const items = isObject(p.items) ? p.items : undefined;
  const maxLength = typeof p.maxLength === 'number' ? p.maxLength : items?.maxLength;
  if (typeof maxLength === 'number') def.maxLength = maxLength;
  if (typeof p.format === 'string') def.format = p.format;
  if (p['x-unit'] === '万元') def.unit = '万元';
  if (kind === 'money' && def.unit === undefined) throw bad(file, `${at}["x-unit"]`, 'a money field needs its unit');
  if (typeof p['x-county-default'] === 'string') def.countyDefault = p['x-county-default'];

  const codes = p['x-codes'];
  if (kind === 'enum' || kind === 'enum-list') {
    if (typeof codes !== 'string') throw bad(file, `${at}["x-codes"]`, `x-clean "${kind}" needs a code table`);
    const table = codeTables.get(codes);
    if (table === undefined) throw bad(file, `${at}["x-codes"]`, `no code table "${codes}" in code-tables.json`);
    // The schema repeats the canonical values so it stands alone; they must not drift apart.
    const enumAt = kind === 'enum-list' ? `${at}.items.enum` : `${at}.enum`;
    const listed = schemaEnum(kind === 'enum-list' ? items : p);
    const canonical = Object.keys(table.values);
    if (listed === undefined || listed.length !== canonical.length || !canonical.every((c) => listed.includes(c))) {
      throw bad(file, enumAt, `the enum must list exactly the canonical values of code table "${codes}"`);
    }
    buildSpellingMap(table);
    def.codeTable = codes;
  } else if (codes !== undefined) {
    throw bad(file, `${at}["x-codes"]`, `x-codes only fits x-clean enum or enum-list, not "${kind}"`);
  }
  return def;
}

/** `enum` of a property, or of the `anyOf` branch that has one (enum plus a free-text pattern). */
function schemaEnum(p: Record<string, unknown> | undefined): unknown[] | undefined {
  if (p === undefined) return undefined;
  if (Array.isArray(p.enum)) return p.enum;
  if (Array.isArray(p.anyOf)) {
    for (const b of p.anyOf) if (isObject(b) && Array.isArray(b.enum)) return b.enum;
  }
  return undefined;
}

function pointerToPath(pointer: string): string {
  return pointer
    .split('/')
    .slice(1)
    .map((s) => (/^\d+$/.test(s) ? `[${s}]` : `.${s}`))
    .join('');
}

function bad(file: string, path: string, what: string): GuijiError {
  return configError('CATALOG_INVALID', `目录文件 ${file} 的 ${path} 有误：${what}`, `${file} ${path}: ${what}`, {
    file,
    path,
  });
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}
