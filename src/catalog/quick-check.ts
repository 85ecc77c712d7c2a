/**
 * A yes/no check of a record against a catalog's JSON Schema, generated once per catalog as one
 * straight-line function. The validate stage runs it on every row and asks the full ajv validator
 * (all errors, messages) only for the rows it does not accept: it answers true only for records the
 * full validator accepts, without ajv's per-row cost (error objects for every failing `if`,
 * evaluated-property tracking, destructured options).
 *
 * Only the keywords the catalogs use are compiled; a schema with any other keyword gets no quick
 * check (undefined) and the caller keeps ajv. Each keyword follows ajv's own semantics (strict
 * numbers, `maxLength` in code points, `pattern` with the `u` flag, the same format functions), so
 * the subschemas of an `if` are decided exactly, not just conservatively. The record's own properties
 * are read by enumerating them (for-in, as ajv's `additionalProperties` does), so records are taken to
 * be plain data: a non-enumerable property is not seen (clean builds values objects of plain fields).
 */
import { fullFormats } from 'ajv-formats/dist/formats.js';

/** A format as ajv holds it (`ajv.formats[name]`). */
export type FormatEntry = unknown;

/** Accepts only records the catalog's full ajv validator accepts. */
export type QuickCheck = (record: unknown) => boolean;

class Unsupported extends Error {}

/** Keywords that never change the outcome. */
const ANNOTATIONS: ReadonlySet<string> = new Set([
  'title',
  'description',
  '$comment',
  'examples',
  'default',
  'deprecated',
  'readOnly',
  'writeOnly',
]);

/** Code points of a string as ajv counts them (a surrogate pair is one). */
function ucs2length(s: string): number {
  let n = 0;
  for (let i = 0; i < s.length; i++) {
    n++;
    const c = s.charCodeAt(i);
    if (c >= 0xd800 && c <= 0xdbff && i + 1 < s.length && (s.charCodeAt(i + 1) & 0xfc00) === 0xdc00) i++;
  }
  return n;
}

function everyItem(a: unknown[], f: (x: unknown) => boolean): boolean {
  for (let i = 0; i < a.length; i++) if (!f(a[i])) return false;
  return true;
}

function someItem(a: unknown[], f: (x: unknown) => boolean): boolean {
  for (let i = 0; i < a.length; i++) if (f(a[i])) return true;
  return false;
}

/** Strings only, none twice; anything else is left to ajv (false). */
function uniqueStrings(a: unknown[]): boolean {
  for (let i = 0; i < a.length; i++) {
    const x = a[i];
    if (typeof x !== 'string') return false;
    for (let j = 0; j < i; j++) if (a[j] === x) return false;
  }
  return true;
}

function onlyKeys(o: object, allowed: ReadonlySet<string>): boolean {
  for (const k in o) if (!allowed.has(k)) return false;
  return true;
}

/** How the top-level properties are read: into `values` by index, in `names` order. */
interface RootBinding {
  names: string[];
  /** Where each name is, for telling a name out of order from an unknown one. */
  index: Map<string, number>;
  /** The top-level `additionalProperties: false`: the names allowed, else undefined. */
  closed: ReadonlySet<string> | undefined;
  values: unknown[];
}

/**
 * Reads the record's top-level properties into `b.values` with a for-in walk: values objects come in
 * dozens of shapes, and a property read by name on each would be megamorphic, while the walk reads
 * them in key order (catalog order, as clean adds them) from the enumeration cache. False when the
 * record has a property the top-level `additionalProperties: false` forbids.
 */
function bindRoot(d: unknown, b: RootBinding): boolean {
  const { names, values } = b;
  const width = names.length;
  let next = 0;
  if (d !== null && typeof d === 'object' && !Array.isArray(d)) {
    const o = d as Record<string, unknown>;
    for (const k in o) {
      let i = next;
      while (i < width && names[i] !== k) i++;
      if (i === width) {
        if (!b.index.has(k)) {
          if (b.closed !== undefined) return false;
          continue;
        }
        // Out of order: read every name, and check the keys apart.
        for (let j = 0; j < width; j++) values[j] = o[names[j] as string];
        return b.closed === undefined || onlyKeys(o, b.closed);
      }
      if (b.closed !== undefined && !b.closed.has(k)) return false;
      while (next < i) values[next++] = undefined;
      values[i] = o[k];
      next = i + 1;
    }
  }
  while (next < width) values[next++] = undefined;
  return true;
}

const DAYS_IN_MONTH = [0, 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];

/**
 * ajv-formats' `date` (full mode: `^(\d\d\d\d)-(\d\d)-(\d\d)$`, a real month and day) without the
 * regex and its match array; it answers exactly as that function does (tested against it).
 */
export function isIsoDate(s: string): boolean {
  if (s.length !== 10 || s.charCodeAt(4) !== 45 || s.charCodeAt(7) !== 45) return false;
  let y = 0;
  for (let i = 0; i < 4; i++) {
    const c = s.charCodeAt(i) - 48;
    if (c < 0 || c > 9) return false;
    y = y * 10 + c;
  }
  const m0 = s.charCodeAt(5) - 48;
  const m1 = s.charCodeAt(6) - 48;
  const d0 = s.charCodeAt(8) - 48;
  const d1 = s.charCodeAt(9) - 48;
  if (m0 < 0 || m0 > 9 || m1 < 0 || m1 > 9 || d0 < 0 || d0 > 9 || d1 < 0 || d1 > 9) return false;
  const m = m0 * 10 + m1;
  const d = d0 * 10 + d1;
  if (m < 1 || m > 12 || d < 1) return false;
  const leap = y % 4 === 0 && (y % 100 !== 0 || y % 400 === 0);
  return d <= (m === 2 && leap ? 29 : (DAYS_IN_MONTH[m] as number));
}

const HELPERS = { ucs2length, everyItem, someItem, uniqueStrings, onlyKeys, bindRoot };

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function isPrimitive(v: unknown): v is string | number | boolean | null {
  return v === null || typeof v === 'string' || typeof v === 'boolean' || (typeof v === 'number' && Number.isFinite(v));
}

function lit(v: string | number | boolean | null): string {
  return JSON.stringify(v);
}

/** A format's validator as a string predicate, or Unsupported (async, non-string or unknown formats). */
function formatFunction(entry: FormatEntry): (s: string) => boolean {
  if (entry === fullFormats.date) return isIsoDate;
  if (entry instanceof RegExp) return (s) => entry.test(s);
  if (typeof entry === 'function') return entry as (s: string) => boolean;
  if (isObject(entry) && !entry.async && (entry.type === undefined || entry.type === 'string')) {
    const v = entry.validate;
    if (v instanceof RegExp) return (s) => v.test(s);
    if (typeof v === 'function') return v as (s: string) => boolean;
  }
  throw new Unsupported('format');
}

/**
 * Generates JS boolean expressions for subschemas. `exact`: true exactly when ajv accepts;
 * otherwise true only when ajv accepts (used outside `if`).
 */
class Compiler {
  /** Values the generated code reads from its closure: E[0], E[1], … */
  readonly externals: unknown[] = [];
  private temps = 0;
  /** Top-level properties, read once per record by bindRoot (only for the root compiler). */
  readonly root: RootBinding = { names: [], index: new Map(), closed: undefined, values: [] };

  constructor(private readonly formats: Readonly<Record<string, FormatEntry>>) {}

  tempCount(): number {
    return this.temps;
  }

  private external(v: unknown): string {
    this.externals.push(v);
    return `E[${this.externals.length - 1}]`;
  }

  private temp(): string {
    return `t${this.temps++}`;
  }

  /** Index of a top-level property in the values bindRoot reads. */
  rootIndex(name: string): number {
    let i = this.root.index.get(name);
    if (i === undefined) {
      i = this.root.names.length;
      this.root.names.push(name);
      this.root.index.set(name, i);
    }
    return i;
  }

  /** `v[name]`; for the record itself, the value bindRoot has read. */
  private prop(v: string, name: string): string {
    return v === 'd' ? `P[${this.rootIndex(name)}]` : `${v}[${lit(name)}]`;
  }

  /** A separate predicate for items / contains (called once per array element). */
  private predicate(schema: unknown, exact: boolean): string {
    const v = 'x';
    const inner = new Compiler(this.formats);
    const body = inner.expr(schema, v, exact);
    const temps = inner.tempCount();
    const decl = temps > 0 ? `let ${Array.from({ length: temps }, (_, i) => `t${i}`).join(', ')};` : '';
    const f = new Function('E', 'H', `return function (${v}) { ${decl} return ${body}; };`)(inner.externals, HELPERS);
    return this.external(f);
  }

  /** Boolean expression over `v` (a variable name) for `schema`. */
  expr(schema: unknown, v: string, exact: boolean, root = false): string {
    if (schema === true) return 'true';
    if (schema === false) return 'false';
    if (!isObject(schema)) throw new Unsupported('schema');
    const parts: string[] = [];
    const isObj = `(${v} !== null && typeof ${v} === "object" && !Array.isArray(${v}))`;
    const isStr = `typeof ${v} === "string"`;
    const isNum = `typeof ${v} === "number"`;
    const isArr = `Array.isArray(${v})`;
    for (const [k, s] of Object.entries(schema)) {
      if (ANNOTATIONS.has(k) || k.startsWith('x-')) continue;
      switch (k) {
        case '$schema':
        case '$id':
          if (!root) throw new Unsupported(k);
          break;
        case 'type':
          parts.push(this.type(s, v));
          break;
        case 'maxLength':
          if (typeof s !== 'number') throw new Unsupported(k);
          parts.push(`(!(${isStr}) || ${v}.length <= ${s} || H.ucs2length(${v}) <= ${s})`);
          break;
        case 'minLength':
          if (typeof s !== 'number') throw new Unsupported(k);
          parts.push(`(!(${isStr}) || (${v}.length >= ${s} && H.ucs2length(${v}) >= ${s}))`);
          break;
        case 'pattern':
          if (typeof s !== 'string') throw new Unsupported(k);
          parts.push(`(!(${isStr}) || ${this.external(new RegExp(s, 'u'))}.test(${v}))`);
          break;
        case 'format': {
          if (typeof s !== 'string') throw new Unsupported(k);
          const f = formatFunction(this.formats[s]);
          parts.push(`(!(${isStr}) || ${this.external(f)}(${v}))`);
          break;
        }
        case 'enum': {
          if (!Array.isArray(s) || s.length === 0 || !s.every(isPrimitive)) throw new Unsupported(k);
          const values = s as Array<string | number | boolean | null>;
          parts.push(
            values.length <= 8
              ? `(${values.map((x) => `${v} === ${lit(x)}`).join(' || ')})`
              : `${this.external(new Set(values))}.has(${v})`,
          );
          break;
        }
        case 'const':
          if (!isPrimitive(s)) throw new Unsupported(k);
          parts.push(`${v} === ${lit(s)}`);
          break;
        case 'minimum':
        case 'maximum':
        case 'exclusiveMinimum':
        case 'exclusiveMaximum': {
          if (typeof s !== 'number' || !Number.isFinite(s)) throw new Unsupported(k);
          const op = { minimum: '>=', maximum: '<=', exclusiveMinimum: '>', exclusiveMaximum: '<' }[k];
          // ajv applies number keywords to finite numbers only (strict numbers).
          parts.push(`(!(${isNum} && isFinite(${v})) || ${v} ${op} ${s})`);
          break;
        }
        case 'minItems':
        case 'maxItems':
          if (typeof s !== 'number') throw new Unsupported(k);
          parts.push(`(!${isArr} || ${v}.length ${k === 'minItems' ? '>=' : '<='} ${s})`);
          break;
        case 'uniqueItems':
          if (s === false) break;
          // Exactly as ajv only for arrays of strings; elsewhere only a conservative answer.
          if (s !== true || exact) throw new Unsupported(k);
          parts.push(`(!${isArr} || H.uniqueStrings(${v}))`);
          break;
        case 'items':
          if (Array.isArray(s)) throw new Unsupported(k);
          parts.push(`(!${isArr} || H.everyItem(${v}, ${this.predicate(s, exact)}))`);
          break;
        case 'contains':
          parts.push(`(!${isArr} || H.someItem(${v}, ${this.predicate(s, exact)}))`);
          break;
        case 'anyOf':
        case 'allOf': {
          if (!Array.isArray(s) || s.length === 0) throw new Unsupported(k);
          const subs = s.map((sub) => this.expr(sub, v, exact));
          parts.push(`(${subs.join(k === 'anyOf' ? ' || ' : ' && ')})`);
          break;
        }
        case 'if': {
          if (schema.then === undefined && schema.else === undefined) break;
          const cond = this.expr(s, v, true);
          const then = schema.then === undefined ? 'true' : this.expr(schema.then, v, exact);
          const other = schema.else === undefined ? 'true' : this.expr(schema.else, v, exact);
          parts.push(`(${cond} ? ${then} : ${other})`);
          break;
        }
        case 'then':
        case 'else':
          break; // with their `if`
        case 'required': {
          if (!Array.isArray(s) || !s.every((n) => typeof n === 'string')) throw new Unsupported(k);
          if (s.length === 0) break;
          parts.push(`(!${isObj} || (${s.map((n) => `${this.prop(v, n)} !== undefined`).join(' && ')}))`);
          break;
        }
        case 'properties': {
          if (!isObject(s)) throw new Unsupported(k);
          const checks: string[] = [];
          for (const [name, sub] of Object.entries(s)) {
            if (sub === true) continue;
            const t = this.temp();
            checks.push(`((${t} = ${this.prop(v, name)}) === undefined || ${this.expr(sub, t, exact)})`);
          }
          if (checks.length > 0) parts.push(`(!${isObj} || (${checks.join(' && ')}))`);
          break;
        }
        case 'additionalProperties': {
          if (s === true) break;
          if (s !== false) throw new Unsupported(k);
          const props = isObject(schema.properties) ? Object.keys(schema.properties) : [];
          // The record's own: bindRoot checks the keys as it reads them.
          if (root) this.root.closed = new Set(props);
          else parts.push(`(!${isObj} || H.onlyKeys(${v}, ${this.external(new Set(props))}))`);
          break;
        }
        default:
          throw new Unsupported(k);
      }
    }
    return parts.length === 0 ? 'true' : parts.length === 1 ? (parts[0] as string) : `(${parts.join(' && ')})`;
  }

  private type(s: unknown, v: string): string {
    switch (s) {
      case 'string':
      case 'boolean':
        return `typeof ${v} === "${s}"`;
      case 'number': // ajv's strict numbers: no NaN, no Infinity
        return `(typeof ${v} === "number" && isFinite(${v}))`;
      case 'integer':
        return `(typeof ${v} === "number" && !(${v} % 1) && !isNaN(${v}) && isFinite(${v}))`;
      case 'array':
        return `Array.isArray(${v})`;
      case 'object':
        return `(${v} !== null && typeof ${v} === "object" && !Array.isArray(${v}))`;
      case 'null':
        return `${v} === null`;
      default:
        throw new Unsupported('type');
    }
  }
}

/**
 * Compiles the quick check of a catalog schema, or returns undefined when the schema uses a keyword
 * this compiler does not know (the caller then keeps ajv alone). `formats` are the catalog ajv's
 * (`ajv.formats`), so a format answers exactly as in the full validator.
 */
export function compileQuickCheck(
  schema: Record<string, unknown>,
  formats: Readonly<Record<string, FormatEntry>>,
): QuickCheck | undefined {
  const c = new Compiler(formats);
  // The top-level properties first, in schema order: the order bindRoot expects the keys in.
  if (isObject(schema.properties)) for (const name of Object.keys(schema.properties)) c.rootIndex(name);
  let body: string;
  try {
    body = c.expr(schema, 'd', false, true);
  } catch (e) {
    if (e instanceof Unsupported) return undefined;
    throw e;
  }
  const temps = c.tempCount();
  const decl = temps > 0 ? `let ${Array.from({ length: temps }, (_, i) => `t${i}`).join(', ')};` : '';
  // Only literals (JSON.stringify'd) and numbers from the schema reach the source; everything else is in E.
  const read = c.root.names.length > 0 || c.root.closed !== undefined ? 'if (!H.bindRoot(d, R)) return false;' : '';
  return new Function(
    'E',
    'H',
    'R',
    `const P = R.values; return function quickCheck(d) { ${decl} ${read} return ${body}; };`,
  )(c.externals, HELPERS, c.root) as QuickCheck;
}
