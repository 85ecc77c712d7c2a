/**
 * Opens the source of a sync request as one "sheet" the collect step can split: the configured source's
 * rows in the request's cursor window (after the committed cursor, up to the bound fixed when the run
 * first opened it). No rows → no sheet (the run loads nothing).
 */
import type { Context } from '../../src/context.js';
import { configError } from '../../src/errors.js';
import type { MatchedSheet, RawRecord, SheetEvent, SyncRead } from '../../src/source.js';
import type { IngestRequest } from '../../src/warehouse/requests.js';
import type { SyncOpening } from './deps.js';

export async function openSyncRequest(
  ctx: Pick<Context, 'config' | 'catalogs' | 'logger'>,
  request: IngestRequest,
): Promise<SyncOpening> {
  const name = request.options.source ?? request.name;
  const def = ctx.config.sources[name];
  if (!def) {
    throw configError(
      'SOURCE_UNKNOWN',
      `配置文件中没有名为“${name}”的数据源（同步任务 ${request.id}）。`,
      `no source named ${name} in the config file (sync request ${request.id})`,
      { source: name },
    );
  }
  const window = { after: request.options.after ?? null, upTo: request.options.upTo ?? undefined };
  let read: SyncRead;
  if (def.type === 'database') {
    const { openDatabaseSource } = await import('../../connectors/database/read-database.js');
    read = await openDatabaseSource(def, window, { logger: ctx.logger, timeZone: ctx.config.timeZone });
  } else {
    const { openHttpSource } = await import('../../connectors/http/read-http.js');
    read = await openHttpSource(def, window, { logger: ctx.logger });
  }
  const catalog = ctx.catalogs.get(def.catalog);
  async function* events(): AsyncGenerator<SheetEvent> {
    const pages = read.records[Symbol.asyncIterator]();
    const first = await pages.next();
    if (first.done || first.value.length === 0) return; // nothing new at the source
    async function* records(): AsyncGenerator<RawRecord[]> {
      yield first.value as RawRecord[];
      for (let p = await pages.next(); !p.done; p = await pages.next()) yield p.value;
    }
    const sheet: MatchedSheet = {
      file: name,
      headerRow: 0,
      headers: read.headers,
      catalog,
      columns: read.columns,
      unmatched: [],
      records: records(),
    };
    yield { kind: 'sheet', sheet };
  }
  return { events: events(), upTo: () => read.upTo, close: () => read.close() };
}
