import { existsSync, readFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import path from 'node:path';
import { Ajv } from 'ajv';
import { configError } from './errors.js';
import type { CountyDefaults } from './types.js';

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
  /** Worker threads for the row stages of large files ($GUIJI_THREADS; default: the machine's cores). */
  threads: number;
  /** The config file read, if any. */
  configFile?: string;
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
  },
} as const;

interface ConfigFile {
  counties?: Record<string, CountyConfig>;
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
    threads: threadCount(env.GUIJI_THREADS),
    configFile,
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
  const ajv = new Ajv({ allErrors: true, strict: true });
  const validate = ajv.compile(configFileSchema);
  if (!validate(parsed)) {
    const first = validate.errors?.[0];
    const at = `${first?.instancePath || '/'}${first?.keyword === 'additionalProperties' ? `/${(first.params as { additionalProperty: string }).additionalProperty}` : ''}`;
    throw configError(
      'CONFIG_INVALID',
      `配置文件 ${file} 中 ${at} 有误：${first?.message}`,
      `config ${file}: ${at} ${first?.message}`,
      { file, path: at },
    );
  }
  return parsed as ConfigFile;
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

function nonEmpty(v: string | undefined): string | undefined {
  return v && v.trim() !== '' ? v : undefined;
}
