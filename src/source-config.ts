/**
 * The `sources` of the config file: where the nightly sync reads (a database table or an HTTP JSON API)
 * and how their columns map to a catalog. Shape only (JSON Schema + env resolution); `src/sources.ts`
 * checks them against the catalogs, `connectors/database` and `connectors/http` read them.
 */
import { configError } from './errors.js';

/** When `guiji schedule` runs a source: a cron pattern in an explicit time zone. */
export interface SourceSchedule {
  cron: string;
  /** IANA zone, default Asia/Shanghai. */
  tz: string;
}

interface SourceBase {
  /** The key under `sources` (`^[a-z][a-z0-9-]{0,40}$`): stable, used in job ids and logs. */
  name: string;
  catalog: string;
  /** 6-digit division code of the county the records belong to. */
  county: string;
  /** catalog field → source column (database) or item property, dot path allowed (HTTP). */
  fields: Record<string, string>;
  schedule?: SourceSchedule;
}

/** A table of a PostgreSQL or MariaDB/MySQL database, read incrementally by a cursor column. */
export interface DatabaseSourceConfig extends SourceBase {
  type: 'database';
  client: 'pg' | 'mysql';
  /** Connection URL, resolved from `urlEnv` or given inline. Holds secrets: never log it. */
  url: string;
  /** `table` or `schema.table`. */
  table: string;
  /** Column that grows on every change (timestamp or integer). */
  cursor: string;
  /** Unique column: the tie-breaker for equal cursor values. */
  key: string;
  /** Rows per page (default 2000). */
  pageSize: number;
}

/** Page parameters of an HTTP source. */
export interface HttpPaging {
  pageParam: string;
  sizeParam: string;
  size: number;
  firstPage: number;
}

/** A paged HTTP JSON API. */
export interface HttpSourceConfig extends SourceBase {
  type: 'http';
  url: string;
  /** Dot path of the items array in each page's JSON; '' when the page is the array itself. */
  itemsPath: string;
  paging: HttpPaging;
  /** Incremental reads: the item property holding the cursor and the query parameter taking it. */
  cursor?: { field: string; param: string };
  /** Request headers, `headersEnv` resolved. Values may be secrets: never log them. */
  headers: Record<string, string>;
  timeoutMs: number;
  retries: number;
}

export type SourceConfig = DatabaseSourceConfig | HttpSourceConfig;

export const SOURCE_NAME = /^[a-z][a-z0-9-]{0,40}$/;
/** A column name as the database readers accept it (quoted by knex after this check). */
export const COLUMN_NAME = /^[A-Za-z_][A-Za-z0-9_]{0,62}$/;
/** `table` or `schema.table`. */
export const TABLE_NAME = /^[A-Za-z_][A-Za-z0-9_]{0,62}(?:\.[A-Za-z_][A-Za-z0-9_]{0,62})?$/;
const ENV_NAME = '^[A-Za-z_][A-Za-z0-9_]*$';
/** Dot path into a JSON item: non-empty segments. */
const DOT_PATH = '^[^.]+(?:\\.[^.]+)*$';
const HEADER_NAME = "^[!#$%&'*+.^_`|~0-9A-Za-z-]+$";
const COUNTY = '^[1-9][0-9]{5}$';

const schedule = {
  type: 'object',
  additionalProperties: false,
  required: ['cron'],
  properties: { cron: { type: 'string', minLength: 1 }, tz: { type: 'string', minLength: 1 } },
} as const;

const common = {
  catalog: { type: 'string', minLength: 1 },
  county: { type: 'string', pattern: COUNTY },
  schedule,
} as const;

const databaseSource = {
  type: 'object',
  additionalProperties: false,
  required: ['type', 'client', 'table', 'cursor', 'key', 'catalog', 'county', 'fields'],
  properties: {
    type: { const: 'database' },
    client: { enum: ['pg', 'mysql'] },
    url: { type: 'string', pattern: '^(postgres|postgresql|mysql|mariadb)://' },
    urlEnv: { type: 'string', pattern: ENV_NAME },
    table: { type: 'string', pattern: TABLE_NAME.source },
    cursor: { type: 'string', pattern: COLUMN_NAME.source },
    key: { type: 'string', pattern: COLUMN_NAME.source },
    fields: {
      type: 'object',
      minProperties: 1,
      additionalProperties: { type: 'string', pattern: COLUMN_NAME.source },
    },
    pageSize: { type: 'integer', minimum: 1, maximum: 100_000 },
    ...common,
  },
} as const;

const httpSource = {
  type: 'object',
  additionalProperties: false,
  required: ['type', 'url', 'itemsPath', 'catalog', 'county', 'fields'],
  properties: {
    type: { const: 'http' },
    url: { type: 'string', pattern: '^https?://' },
    itemsPath: { type: 'string', pattern: `^$|${DOT_PATH}` },
    paging: {
      type: 'object',
      additionalProperties: false,
      properties: {
        pageParam: { type: 'string', minLength: 1 },
        sizeParam: { type: 'string', minLength: 1 },
        size: { type: 'integer', minimum: 1, maximum: 100_000 },
        firstPage: { type: 'integer', minimum: 0 },
      },
    },
    cursor: {
      type: 'object',
      additionalProperties: false,
      required: ['field', 'param'],
      properties: { field: { type: 'string', pattern: DOT_PATH }, param: { type: 'string', minLength: 1 } },
    },
    headers: {
      type: 'object',
      propertyNames: { pattern: HEADER_NAME },
      additionalProperties: { type: 'string' },
    },
    headersEnv: {
      type: 'object',
      propertyNames: { pattern: HEADER_NAME },
      additionalProperties: { type: 'string', pattern: ENV_NAME },
    },
    timeoutMs: { type: 'integer', minimum: 1, maximum: 600_000 },
    retries: { type: 'integer', minimum: 0, maximum: 20 },
    fields: { type: 'object', minProperties: 1, additionalProperties: { type: 'string', pattern: DOT_PATH } },
    ...common,
  },
} as const;

/** JSON Schema of `sources` in the config file (ajv with `discriminator: true`). */
export const sourcesSchema = {
  type: 'object',
  propertyNames: { pattern: SOURCE_NAME.source },
  additionalProperties: {
    type: 'object',
    required: ['type'],
    properties: { type: { enum: ['database', 'http'] } },
    discriminator: { propertyName: 'type' },
    oneOf: [databaseSource, httpSource],
  },
} as const;

/** A source as the config file holds it (before env references are resolved). */
export type SourceFileEntry = Record<string, unknown> & { type: 'database' | 'http' };

export const DEFAULT_PAGE_SIZE = 2000;
export const DEFAULT_SCHEDULE_TZ = 'Asia/Shanghai';
const DEFAULT_PAGING: HttpPaging = { pageParam: 'page', sizeParam: 'size', size: 500, firstPage: 1 };
const DEFAULT_TIMEOUT_MS = 10_000;
const DEFAULT_RETRIES = 5;

/**
 * Resolves the env references of schema-valid sources (`urlEnv`, `headersEnv`) and applies defaults.
 * `env` is handed in by loadConfig, the only reader of the environment. An unset variable is a config
 * error naming it and the key that refers to it.
 */
export function resolveSources(
  entries: Record<string, SourceFileEntry>,
  env: NodeJS.ProcessEnv,
): Record<string, SourceConfig> {
  const out: Record<string, SourceConfig> = {};
  for (const [name, e] of Object.entries(entries)) {
    const base = {
      name,
      catalog: e.catalog as string,
      county: e.county as string,
      fields: { ...(e.fields as Record<string, string>) },
      ...(e.schedule ? { schedule: resolveSchedule(e.schedule as { cron: string; tz?: string }) } : {}),
    };
    if (e.type === 'database') {
      const url = databaseUrl(name, e, env);
      out[name] = {
        ...base,
        type: 'database',
        client: e.client as 'pg' | 'mysql',
        url,
        table: e.table as string,
        cursor: e.cursor as string,
        key: e.key as string,
        pageSize: (e.pageSize as number | undefined) ?? DEFAULT_PAGE_SIZE,
      };
    } else {
      const headers: Record<string, string> = { ...((e.headers as Record<string, string> | undefined) ?? {}) };
      for (const [header, variable] of Object.entries((e.headersEnv as Record<string, string> | undefined) ?? {})) {
        headers[header] = fromEnv(env, variable, `/sources/${name}/headersEnv/${header}`);
      }
      out[name] = {
        ...base,
        type: 'http',
        url: e.url as string,
        itemsPath: e.itemsPath as string,
        paging: { ...DEFAULT_PAGING, ...((e.paging as Partial<HttpPaging> | undefined) ?? {}) },
        ...(e.cursor ? { cursor: { ...(e.cursor as { field: string; param: string }) } } : {}),
        headers,
        timeoutMs: (e.timeoutMs as number | undefined) ?? DEFAULT_TIMEOUT_MS,
        retries: (e.retries as number | undefined) ?? DEFAULT_RETRIES,
      };
    }
  }
  return out;
}

/** The URL comes from exactly one place: the env variable (keeps secrets out of the file) or inline. */
function databaseUrl(name: string, e: SourceFileEntry, env: NodeJS.ProcessEnv): string {
  const inline = typeof e.url === 'string';
  const fromVariable = typeof e.urlEnv === 'string';
  if (inline === fromVariable) {
    const path = `/sources/${name}/${inline ? 'url' : 'urlEnv'}`;
    throw configError(
      'CONFIG_INVALID',
      inline
        ? `配置文件 ${path} 有误：url 与 urlEnv 只能写一个（建议用 urlEnv，密码不进配置文件）。`
        : `配置文件 ${path} 有误：请用 urlEnv 指明存放数据库连接地址的环境变量（或直接写 url）。`,
      inline
        ? `config ${path}: give either url or urlEnv, not both`
        : `config ${path}: a database source needs urlEnv (or url)`,
      { path },
    );
  }
  return fromVariable ? fromEnv(env, e.urlEnv as string, `/sources/${name}/urlEnv`) : (e.url as string);
}

function resolveSchedule(s: { cron: string; tz?: string }): SourceSchedule {
  return { cron: s.cron, tz: s.tz ?? DEFAULT_SCHEDULE_TZ };
}

function fromEnv(env: NodeJS.ProcessEnv, variable: string, path: string): string {
  const value = env[variable];
  if (value === undefined || value.trim() === '') {
    throw configError(
      'CONFIG_ENV_MISSING',
      `配置文件 ${path} 引用的环境变量 ${variable} 未设置，请先设置它再启动。`,
      `config ${path}: environment variable ${variable} is not set`,
      { path, variable },
    );
  }
  return value;
}
