import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { loadCatalogs } from '../../src/catalog/load.js';
import { type GuijiConfig, loadConfig } from '../../src/config.js';
import { GuijiError } from '../../src/errors.js';
import { checkSources } from '../../src/sources.js';

const catalogs = loadCatalogs();
const dir = mkdtempSync(path.join(tmpdir(), 'guiji-sources-config-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const penaltyFields = {
  subject_name: 'xdr_mc',
  subject_category: 'xdr_lb',
  decision_doc_no: 'cf_wsh',
  violation_type: 'cf_wfxw',
  violation_facts: 'cf_sy',
  legal_basis: 'cf_yj',
  penalty_types: 'cf_cflb',
  penalty_content: 'cf_nr',
  decision_date: 'cf_jdrq',
  penalty_valid_until: 'cf_yxq',
};
const licenceFields = {
  subject_name: 'xdr.mc',
  subject_category: 'xdr.lb',
  decision_doc_title: 'xkWsmc',
  decision_doc_no: 'xkWsh',
  licence_category: 'xkLb',
  licence_content: 'xkNr',
  decision_date: 'xkJdrq',
  valid_from: 'xkYxqz',
  valid_to: 'xkYxqzi',
  issuing_authority: 'xkJg',
  issuing_authority_uscc: 'xkJgDm',
  status: 'zt',
};
const counties = {
  '230184': {
    name: '五常市',
    defaults: {
      source_unit: '五常市交通运输局',
      source_unit_uscc: '11230184013115376E',
      penalising_authority: '五常市交通运输局',
      penalising_authority_uscc: '11230184013115376E',
    },
  },
  '230100': { defaults: { source_unit: '哈尔滨市交通运输局', source_unit_uscc: '11230100013115376E' } },
};

function databaseSource(over: Record<string, unknown> = {}) {
  return {
    type: 'database',
    client: 'pg',
    urlEnv: 'WUCHANG_DB_URL',
    table: 'credit.xzcf',
    cursor: 'updated_at',
    key: 'id',
    catalog: 'admin-penalty',
    county: '230184',
    fields: penaltyFields,
    schedule: { cron: '0 2 * * *' },
    ...over,
  };
}

function httpSource(over: Record<string, unknown> = {}) {
  return {
    type: 'http',
    url: 'http://127.0.0.1:8080/api/penalties',
    itemsPath: 'data.list',
    paging: { pageParam: 'pageNo', sizeParam: 'pageSize', size: 100 },
    cursor: { field: 'updated_at', param: 'since' },
    headersEnv: { Authorization: 'CITY_API_TOKEN' },
    catalog: 'admin-license',
    county: '230100',
    fields: licenceFields,
    schedule: { cron: '30 1 * * *', tz: 'Asia/Urumqi' },
    ...over,
  };
}

const env = { WUCHANG_DB_URL: 'postgres://sync:pw@db.example:5432/credit', CITY_API_TOKEN: 'Bearer t0ken' };
let seq = 0;

function load(sources: Record<string, unknown>, environment: NodeJS.ProcessEnv = env): GuijiConfig {
  const file = path.join(dir, `config-${++seq}.json`);
  writeFileSync(file, JSON.stringify({ counties, sources }));
  return loadConfig(environment, { configPath: file, cwd: dir });
}

/** The config error a call throws: its code and the path of the bad key. */
function failure(fn: () => unknown): { code: string; path: unknown; zh: string; en: string } {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(GuijiError);
    const g = e as GuijiError;
    expect(g.kind).toBe('config');
    return { code: g.code, path: g.details.path, zh: g.zh, en: g.message };
  }
  throw new Error('expected a config error');
}

describe('sources in the config file', () => {
  it('resolves env references and applies defaults', () => {
    const config = load({
      'wuchang-penalties': databaseSource(),
      'city-api': httpSource(),
      'inline-url': databaseSource({ urlEnv: undefined, url: 'mysql://root@127.0.0.1:3306/test', client: 'mysql' }),
    });
    expect(config.sources['wuchang-penalties']).toEqual({
      name: 'wuchang-penalties',
      type: 'database',
      client: 'pg',
      url: 'postgres://sync:pw@db.example:5432/credit',
      table: 'credit.xzcf',
      cursor: 'updated_at',
      key: 'id',
      catalog: 'admin-penalty',
      county: '230184',
      fields: penaltyFields,
      pageSize: 2000,
      schedule: { cron: '0 2 * * *', tz: 'Asia/Shanghai' },
    });
    expect(config.sources['city-api']).toEqual({
      name: 'city-api',
      type: 'http',
      url: 'http://127.0.0.1:8080/api/penalties',
      itemsPath: 'data.list',
      paging: { pageParam: 'pageNo', sizeParam: 'pageSize', size: 100, firstPage: 1 },
      cursor: { field: 'updated_at', param: 'since' },
      headers: { Authorization: 'Bearer t0ken' },
      timeoutMs: 10_000,
      retries: 5,
      catalog: 'admin-license',
      county: '230100',
      fields: licenceFields,
      schedule: { cron: '30 1 * * *', tz: 'Asia/Urumqi' },
    });
    expect(config.sources['inline-url']).toMatchObject({ client: 'mysql', url: 'mysql://root@127.0.0.1:3306/test' });
    expect(() => checkSources(config, catalogs)).not.toThrow();
  });

  it('has no sources when the file has none', () => {
    const file = path.join(dir, 'no-sources.json');
    writeFileSync(file, JSON.stringify({ counties }));
    expect(loadConfig({}, { configPath: file }).sources).toEqual({});
  });

  it.each([
    ['a bad source name', { Wuchang_DB: databaseSource() }, '/sources/Wuchang_DB'],
    ['an unknown key', { w: databaseSource({ colour: 'red' }) }, '/sources/w/colour'],
    ['an unknown type', { w: databaseSource({ type: 'ftp' }) }, '/sources/w/type'],
    ['a missing type', { w: { ...databaseSource(), type: undefined } }, '/sources/w/type'],
    ['an unknown client', { w: databaseSource({ client: 'oracle' }) }, '/sources/w/client'],
    ['a table with SQL in it', { w: databaseSource({ table: 'xzcf; drop table x' }) }, '/sources/w/table'],
    ['a three-part table name', { w: databaseSource({ table: 'a.b.c' }) }, '/sources/w/table'],
    ['a quoted cursor column', { w: databaseSource({ cursor: 'updated_at"' }) }, '/sources/w/cursor'],
    ['a missing key column', { w: { ...databaseSource(), key: undefined } }, '/sources/w/key'],
    [
      'a source column with a space',
      { w: databaseSource({ fields: { ...penaltyFields, decision_doc_no: 'cf wsh' } }) },
      '/sources/w/fields/decision_doc_no',
    ],
    ['both url and urlEnv', { w: databaseSource({ url: 'postgres://x@h/db' }) }, '/sources/w/url'],
    ['neither url nor urlEnv', { w: databaseSource({ urlEnv: undefined }) }, '/sources/w/urlEnv'],
    ['a url of another scheme', { w: databaseSource({ urlEnv: undefined, url: 'odbc://x' }) }, '/sources/w/url'],
    ['a page size of 0', { w: databaseSource({ pageSize: 0 }) }, '/sources/w/pageSize'],
    ['a county that is not 6 digits', { w: databaseSource({ county: '23018' }) }, '/sources/w/county'],
    [
      'a schedule without cron',
      { w: databaseSource({ schedule: { tz: 'Asia/Shanghai' } }) },
      '/sources/w/schedule/cron',
    ],
    ['a non-HTTP url', { c: httpSource({ url: 'ftp://example.org/x' }) }, '/sources/c/url'],
    ['a negative retry count', { c: httpSource({ retries: -1 }) }, '/sources/c/retries'],
    ['a bad header name', { c: httpSource({ headersEnv: { 'Bad Header': 'X' } }) }, '/sources/c/headersEnv/Bad Header'],
    ['a database key on an HTTP source', { c: httpSource({ table: 'xzcf' }) }, '/sources/c/table'],
  ])('refuses %s, naming the path', (_what, sources, expected) => {
    const f = failure(() => load(sources));
    expect(f.code).toBe('CONFIG_INVALID');
    expect(f.path).toBe(expected);
    expect(f.zh).toContain(expected);
  });

  it('names an unset env variable and the key referring to it', () => {
    const db = failure(() => load({ w: databaseSource() }, { CITY_API_TOKEN: 'x' }));
    expect(db).toMatchObject({ code: 'CONFIG_ENV_MISSING', path: '/sources/w/urlEnv' });
    expect(db.zh).toContain('WUCHANG_DB_URL');
    const http = failure(() => load({ c: httpSource() }, { WUCHANG_DB_URL: 'postgres://x@h/db', CITY_API_TOKEN: ' ' }));
    expect(http).toMatchObject({ code: 'CONFIG_ENV_MISSING', path: '/sources/c/headersEnv/Authorization' });
    expect(http.en).toContain('CITY_API_TOKEN');
  });
});

describe('checkSources', () => {
  const check = (sources: Record<string, unknown>, countyDefaults = counties) => {
    const file = path.join(dir, `check-${++seq}.json`);
    writeFileSync(file, JSON.stringify({ counties: countyDefaults, sources }));
    const config = loadConfig(env, { configPath: file });
    return failure(() => checkSources(config, catalogs));
  };

  it('refuses an unknown catalog', () => {
    const f = check({ w: databaseSource({ catalog: 'admin-reward' }) });
    expect(f).toMatchObject({ code: 'SOURCE_UNKNOWN_CATALOG', path: '/sources/w/catalog' });
    expect(f.zh).toContain('admin-penalty');
  });

  it('refuses a field the catalog does not have', () => {
    const f = check({ w: databaseSource({ fields: { ...penaltyFields, xyz: 'col_x' } }) });
    expect(f).toMatchObject({ code: 'SOURCE_UNKNOWN_FIELD', path: '/sources/w/fields/xyz' });
  });

  it('refuses an always-required field neither mapped nor defaulted', () => {
    const { decision_date: _, ...withoutDate } = penaltyFields;
    const f = check({ w: databaseSource({ fields: withoutDate }) });
    expect(f).toMatchObject({ code: 'SOURCE_REQUIRED_UNMAPPED', path: '/sources/w/fields' });
    expect(f.en).toContain('decision_date');
    expect(f.zh).toContain('处罚决定日期');
  });

  it('takes county defaults for required fields into account', () => {
    // 230100 has no default for the licensing authority: it must be mapped.
    const { issuing_authority: _, ...withoutAuthority } = licenceFields;
    const f = check({ c: httpSource({ fields: withoutAuthority }) });
    expect(f.en).toMatch(/issuing_authority$/);
    // Without the county's defaults the source's own 4 unmapped required fields are missing.
    const bare = check({ w: databaseSource() }, { '230184': { name: '五常市', defaults: {} } } as typeof counties);
    expect(bare.code).toBe('SOURCE_REQUIRED_UNMAPPED');
    for (const f of ['source_unit', 'source_unit_uscc', 'penalising_authority', 'penalising_authority_uscc']) {
      expect(bare.en).toContain(f);
    }
  });

  it('refuses a cron pattern that does not parse', () => {
    const f = check({ w: databaseSource({ schedule: { cron: '61 2 * * *' } }) });
    expect(f).toMatchObject({ code: 'SOURCE_BAD_CRON', path: '/sources/w/schedule/cron' });
    expect(check({ w: databaseSource({ schedule: { cron: 'every night' } }) }).path).toBe('/sources/w/schedule/cron');
  });

  it('refuses a time zone that does not exist', () => {
    const f = check({ w: databaseSource({ schedule: { cron: '0 2 * * *', tz: 'Asia/Harbin-ish' } }) });
    expect(f).toMatchObject({ code: 'SOURCE_BAD_TIMEZONE', path: '/sources/w/schedule/tz' });
  });

  it('refuses a bad county in a config built by hand', () => {
    const config = load({ w: databaseSource() });
    const source = { ...config.sources.w, county: '23a184' } as (typeof config.sources)[string];
    const f = failure(() => checkSources({ counties: config.counties, sources: { w: source } }, catalogs));
    expect(f).toMatchObject({ code: 'SOURCE_BAD_COUNTY', path: '/sources/w/county' });
  });
});
