import { CronExpressionParser } from 'cron-parser';
import type { CatalogSet } from './catalog/load.js';
import type { Catalog } from './catalog/types.js';
import type { GuijiConfig } from './config.js';
import { configError, isGuijiError } from './errors.js';
import type { SourceConfig } from './source-config.js';

const COUNTY = /^[1-9]\d{5}$/;

/**
 * Checks what the config file's JSON Schema cannot: each source's catalog exists, every key of `fields`
 * is a field of it, the catalog's always-required fields are mapped or have a county default, the county
 * is a 6-digit code, the cron pattern parses and the time zone exists. Throws a config error on the first
 * problem, with `details.path` the JSON Pointer of the bad key (e.g. `/sources/wuchang/fields/xyz`).
 */
export function checkSources(config: Pick<GuijiConfig, 'sources' | 'counties'>, catalogs: CatalogSet): void {
  for (const source of Object.values(config.sources)) checkSource(source, config, catalogs);
}

function checkSource(source: SourceConfig, config: Pick<GuijiConfig, 'counties'>, catalogs: CatalogSet): void {
  const at = `/sources/${source.name}`;
  const catalog = findCatalog(catalogs, source.catalog);
  if (!catalog) {
    const known = catalogs.list.map((c) => c.id).join(', ');
    throw problem(
      'SOURCE_UNKNOWN_CATALOG',
      `${at}/catalog`,
      `没有名为“${source.catalog}”的信息目录，可用的有：${known}。`,
      `unknown catalog ${source.catalog}; known: ${known}`,
    );
  }
  if (!COUNTY.test(source.county)) {
    throw problem(
      'SOURCE_BAD_COUNTY',
      `${at}/county`,
      `区县代码“${source.county}”应为 6 位行政区划代码（如 230184）。`,
      `county ${source.county} is not a 6-digit division code`,
    );
  }
  for (const field of Object.keys(source.fields)) {
    if (!catalog.byName.has(field)) {
      throw problem(
        'SOURCE_UNKNOWN_FIELD',
        `${at}/fields/${field}`,
        `信息目录 ${catalog.id}（${catalog.title}）没有数据项“${field}”，请用 guiji catalogs 查看数据项名称。`,
        `catalog ${catalog.id} has no field ${field}`,
      );
    }
  }
  const defaults = config.counties[source.county]?.defaults ?? {};
  // The same rule the clean stage applies: a field's own default, else the default it names.
  const missing = catalog.fields.filter(
    (f) =>
      f.required &&
      source.fields[f.name] === undefined &&
      defaults[f.name] === undefined &&
      (f.countyDefault === undefined || defaults[f.countyDefault] === undefined),
  );
  if (missing.length > 0) {
    const list = missing.map((f) => `${f.title}（${f.name}）`).join('、');
    throw problem(
      'SOURCE_REQUIRED_UNMAPPED',
      `${at}/fields`,
      `必填数据项没有对应的来源字段：${list}。请在 fields 中映射它们，或在 counties.${source.county}.defaults 中设置默认值。`,
      `required fields neither mapped nor defaulted for county ${source.county}: ${missing.map((f) => f.name).join(', ')}`,
      { missing: missing.map((f) => f.name) },
    );
  }
  if (source.schedule) checkSchedule(source.schedule.cron, source.schedule.tz, `${at}/schedule`);
}

function findCatalog(catalogs: CatalogSet, id: string): Catalog | undefined {
  try {
    return catalogs.get(id);
  } catch (e) {
    if (isGuijiError(e)) return undefined;
    throw e;
  }
}

function checkSchedule(cron: string, tz: string, at: string): void {
  try {
    new Intl.DateTimeFormat('en-CA', { timeZone: tz });
  } catch {
    throw problem(
      'SOURCE_BAD_TIMEZONE',
      `${at}/tz`,
      `时区“${tz}”不存在，请写 IANA 时区名，如 Asia/Shanghai。`,
      `unknown time zone ${tz}`,
    );
  }
  try {
    CronExpressionParser.parse(cron, { tz });
  } catch (e) {
    throw problem(
      'SOURCE_BAD_CRON',
      `${at}/cron`,
      `定时表达式“${cron}”无法解析（${(e as Error).message}），格式如 “0 2 * * *”（每天 2 点）。`,
      `cron pattern ${JSON.stringify(cron)} does not parse: ${(e as Error).message}`,
    );
  }
}

function problem(code: string, path: string, zh: string, en: string, extra: Record<string, unknown> = {}) {
  return configError(code, `配置 ${path} 有误：${zh}`, `config ${path}: ${en}`, { path, ...extra });
}
