import { existsSync, readFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import path from 'node:path';
import { Ajv, type ErrorObject } from 'ajv';
import { configError } from './errors.js';
import { resolveSources, type SourceConfig, type SourceFileEntry, sourcesSchema } from './source-config.js';
import type { CountyDefaults } from './types.js';

export type {
  DatabaseSourceConfig,
  HttpPaging,
  HttpSourceConfig,
  SourceConfig,
  SourceSchedule,
} from './source-config.js';

/** One county (or a city-level office under a prefecture code). */
export interface CountyConfig {
  name?: string;
  /** Values for always-required fields its old templates lack (catalog field → value). */
  defaults?: CountyDefaults;
}

/** Everything guiji reads from the environment and the config file. The only reader of `process.env`. */
export interface GuijiConfig {
  /** PostgreSQL; absent → embedded PGlite in `home`. */
  databaseUrl?: string;
  /** Redis; absent → inline executor. */
  redisUrl?: string;
  /** Embedded data folder ($GUIJI_HOME, default ./.guiji). */
  home: string;
  logLevel: string;
  /** Zone that decides "today" (default Asia/Shanghai whatever the machine's zone). */
  timeZone: string;
  counties: Record<string, CountyConfig>;
  /** Sources of the nightly sync by name, env references resolved (checked against catalogs by `checkSources`). */
  sources: Record<string, SourceConfig>;
  /** Worker threads for the row stages of large files ($GUIJI_THREADS; default: the machine's cores). */
  threads: number;
  /** Files larger than this go through the threads ($GUIJI_THREADS_ABOVE_MB, default 8; 0 = every file). */
  threadsAboveBytes: number;
  /**
   * Bytes of a CSV per chunk handed to a stage thread ($GUIJI_CSV_CHUNK_BYTES; default about 1 MB). Tests set a
   * few KB to cut a small file into many chunks.
   */
  csvChunkBytes?: number;
  /** The config file read, if any. */
  configFile?: string;
  /** Distributed mode (REDIS_URL set): where files are staged for every worker, and queue tuning. */
  distributed: DistributedConfig;
}

/** Settings of the BullMQ executor, from the environment (all optional). */
export interface DistributedConfig {
  /** Folder every worker can read ($GUIJI_SPOOL, default <home>/spool): submitted files and chunk files. */
  spool: string;
  /** Redis key prefix of the queues ($GUIJI_QUEUE_PREFIX, default guiji): several installations can share a Redis. */
  queuePrefix: string;
  /** Rows per chunk job ($GUIJI_CHUNK_ROWS, default 5000). */
  chunkRows: number;
  /** Chunks of one batch waiting or running at once ($GUIJI_MAX_CHUNKS_IN_FLIGHT, default 8): back-pressure on Redis. */
  maxChunksInFlight: number;
  /** Job lock duration in ms ($GUIJI_LOCK_MS, default 30000); a dead worker's job is taken over after it. */
  lockMs: number;
  /** How often each worker re-enqueues unfinished work from PostgreSQL, in ms ($GUIJI_RECONCILE_MS, default 15000). */
  reconcileMs: number;
}

/** JSON Schema of the config file (a bad config fails at start-up with the path of the bad key). */
export const configFileSchema = {
  type: 'object',
  additionalProperties: false,
  properties: {
    $schema: { type: 'string' },
    counties: {
      type: 'object',
      propertyNames: { pattern: '^[1-9][0-9]{5}$' },
      additionalProperties: {
        type: 'object',
        additionalProperties: false,
        properties: {
          name: { type: 'string' },
          defaults: { type: 'object', additionalProperties: { type: 'string', minLength: 1 } },
        },
      },
    },
    sources: sourcesSchema,
  },
} as const;

interface ConfigFile {
  counties?: Record<string, CountyConfig>;
  sources?: Record<string, SourceFileEntry>;
}

export interface LoadConfigOptions {
  /** Explicit config file (--config); else $GUIJI_CONFIG; else ./guiji.config.json if present. */
  configPath?: string;
  cwd?: string;
}

/** Reads the environment and the config file once; everything else receives the result. */
export function loadConfig(env: NodeJS.ProcessEnv = process.env, opts: LoadConfigOptions = {}): GuijiConfig {
  const cwd = opts.cwd ?? process.cwd();
  const explicit = opts.configPath ?? env.GUIJI_CONFIG;
  const candidate = explicit ? path.resolve(cwd, explicit) : path.resolve(cwd, 'guiji.config.json');
  let file: ConfigFile = {};
  let configFile: string | undefined;
  if (existsSync(candidate)) {
    file = readConfigFile(candidate);
    configFile = candidate;
  } else if (explicit) {
    throw configError(
      'CONFIG_NOT_FOUND',
      `找不到配置文件 ${candidate}，请检查 --config 或 GUIJI_CONFIG 的路径。`,
      `config file not found: ${candidate}`,
      { file: candidate },
    );
  }
  // DESIGN.md §4: TZ decides "today"; unset → Asia/Shanghai, whatever the machine's own zone.
  const tz = nonEmpty(env.TZ);
  const timeZone = tz && !tz.startsWith(':') ? tz : 'Asia/Shanghai';
  checkTimeZone(timeZone);
  return {
    databaseUrl: nonEmpty(env.DATABASE_URL),
    redisUrl: nonEmpty(env.REDIS_URL),
    home: path.resolve(cwd, nonEmpty(env.GUIJI_HOME) ?? '.guiji'),
    logLevel: nonEmpty(env.LOG_LEVEL) ?? 'warn',
    timeZone,
    counties: file.counties ?? {},
    sources: resolveSources(file.sources ?? {}, env),
    threads: threadCount(env.GUIJI_THREADS),
    threadsAboveBytes: intSetting('GUIJI_THREADS_ABOVE_MB', env.GUIJI_THREADS_ABOVE_MB, 8, 0, 1_000_000) * 1024 * 1024,
    ...(env.GUIJI_CSV_CHUNK_BYTES?.trim()
      ? { csvChunkBytes: intSetting('GUIJI_CSV_CHUNK_BYTES', env.GUIJI_CSV_CHUNK_BYTES, 0, 64, 64 << 20) }
      : {}),
    configFile,
    distributed: {
      spool: path.resolve(cwd, nonEmpty(env.GUIJI_SPOOL) ?? path.join(nonEmpty(env.GUIJI_HOME) ?? '.guiji', 'spool')),
      queuePrefix: queuePrefix(env.GUIJI_QUEUE_PREFIX),
      chunkRows: intSetting('GUIJI_CHUNK_ROWS', env.GUIJI_CHUNK_ROWS, 5000, 100, 100_000),
      maxChunksInFlight: intSetting('GUIJI_MAX_CHUNKS_IN_FLIGHT', env.GUIJI_MAX_CHUNKS_IN_FLIGHT, 8, 1, 1000),
      lockMs: intSetting('GUIJI_LOCK_MS', env.GUIJI_LOCK_MS, 30_000, 1000, 600_000),
      reconcileMs: intSetting('GUIJI_RECONCILE_MS', env.GUIJI_RECONCILE_MS, 15_000, 200, 3_600_000),
    },
  };
}

function readConfigFile(file: string): ConfigFile {
  let parsed: unknown;
  try {
    parsed = JSON.parse(readFileSync(file, 'utf8'));
  } catch (e) {
    throw configError(
      'CONFIG_INVALID',
      `配置文件 ${file} 不是有效的 JSON：${(e as Error).message}`,
      `config file ${file} is not valid JSON: ${(e as Error).message}`,
      { file },
    );
  }
  const ajv = new Ajv({ allErrors: true, strict: true, discriminator: true });
  const validate = ajv.compile(configFileSchema);
  if (!validate(parsed)) {
    const first = validate.errors?.[0];
    const at = first ? errorPath(first) : '/';
    throw configError(
      'CONFIG_INVALID',
      `配置文件 ${file} 中 ${at} 有误：${first?.message}`,
      `config ${file}: ${at} ${first?.message}`,
      { file, path: at },
    );
  }
  return parsed as ConfigFile;
}

/** JSON Pointer of the key an ajv error is about (the offending key itself, not just its parent). */
function errorPath(e: ErrorObject): string {
  const p = e.params as Record<string, unknown>;
  const child =
    e.keyword === 'additionalProperties'
      ? p.additionalProperty
      : e.keyword === 'required'
        ? p.missingProperty
        : e.keyword === 'discriminator'
          ? p.tag
          : (e.propertyName ?? (e.keyword === 'propertyNames' ? p.propertyName : undefined));
  const pointer = (s: string) => s.replaceAll('~', '~0').replaceAll('/', '~1');
  return typeof child === 'string' ? `${e.instancePath}/${pointer(child)}` : e.instancePath || '/';
}

function checkTimeZone(tz: string): void {
  try {
    new Intl.DateTimeFormat('en-CA', { timeZone: tz });
  } catch {
    throw configError('CONFIG_TIMEZONE', `时区 ${tz} 无效。`, `unknown time zone ${tz}`);
  }
}

function threadCount(v: string | undefined): number {
  if (v === undefined || v.trim() === '') return availableParallelism();
  const n = Number(v);
  if (!Number.isInteger(n) || n < 0 || n > 64) {
    throw configError(
      'CONFIG_THREADS',
      `GUIJI_THREADS 应为 0 到 64 的整数（0 表示不用工作线程），而不是“${v}”。`,
      `GUIJI_THREADS must be an integer 0..64, got ${v}`,
    );
  }
  return n;
}

function intSetting(name: string, v: string | undefined, dflt: number, min: number, max: number): number {
  if (v === undefined || v.trim() === '') return dflt;
  const n = Number(v);
  if (!Number.isInteger(n) || n < min || n > max) {
    throw configError(
      'CONFIG_SETTING',
      `${name} 应为 ${min} 到 ${max} 的整数，而不是“${v}”。`,
      `${name} must be an integer ${min}..${max}, got ${v}`,
      { path: name },
    );
  }
  return n;
}

function queuePrefix(v: string | undefined): string {
  const p = nonEmpty(v) ?? 'guiji';
  // BullMQ job and queue names must not contain ':'; keep the prefix to a plain word.
  if (!/^[A-Za-z][A-Za-z0-9_-]{0,40}$/.test(p)) {
    throw configError(
      'CONFIG_SETTING',
      `GUIJI_QUEUE_PREFIX 只能包含字母、数字、下划线和连字符，而不是“${p}”。`,
      `GUIJI_QUEUE_PREFIX must match [A-Za-z][A-Za-z0-9_-]*, got ${p}`,
      { path: 'GUIJI_QUEUE_PREFIX' },
    );
  }
  return p;
}

function nonEmpty(v: string | undefined): string | undefined {
  return v && v.trim() !== '' ? v : undefined;
}
