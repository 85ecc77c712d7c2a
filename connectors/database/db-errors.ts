import { configError, isGuijiError, isTransient, transientError } from '../../src/errors.js';
import type { DatabaseSourceConfig } from '../../src/source-config.js';

/** Connection-level failures worth a retry later (beyond the ones `isTransient` knows). */
const TRANSIENT_CODES = new Set([
  'ENOTFOUND',
  'PROTOCOL_CONNECTION_LOST',
  'PROTOCOL_SEQUENCE_TIMEOUT',
  'ER_CON_COUNT_ERROR',
  'ER_SERVER_SHUTDOWN',
  'ER_LOCK_WAIT_TIMEOUT',
  'ER_LOCK_DEADLOCK',
  'ER_QUERY_INTERRUPTED',
]);

/** The table, a column or the database itself is not there: the config names something that does not exist. */
const MISSING_CODES = new Set([
  '42P01', // undefined_table
  '42703', // undefined_column
  '3F000', // invalid_schema_name
  '3D000', // invalid_catalog_name (no such database)
  'ER_NO_SUCH_TABLE',
  'ER_BAD_FIELD_ERROR',
  'ER_BAD_DB_ERROR',
]);

const ACCESS_CODES = new Set([
  '28P01', // invalid_password
  '28000', // invalid_authorization_specification
  '42501', // insufficient_privilege
  'ER_ACCESS_DENIED_ERROR',
  'ER_DBACCESS_DENIED_ERROR',
  'ER_TABLEACCESS_DENIED_ERROR',
  'ER_COLUMNACCESS_DENIED_ERROR',
]);

/** A cursor value the column's type cannot take (a stored cursor from another column, say). */
const CURSOR_VALUE_CODES = new Set(['22007', '22008', '22P02', '22003']);

/**
 * A driver error → the error vocabulary: connection problems are transient (retry later), a missing
 * table or column or refused access is a config error. Messages name the source, never its URL.
 */
export function mapDatabaseError(e: unknown, def: DatabaseSourceConfig): unknown {
  if (isGuijiError(e)) return e;
  const code = typeof (e as { code?: unknown })?.code === 'string' ? (e as { code: string }).code : '';
  const reason = e instanceof Error ? e.message : String(e);
  const details = { source: def.name, table: def.table, driverCode: code || undefined };
  if (isTransient(e) || TRANSIENT_CODES.has(code)) {
    return transientError(
      'SOURCE_DB_UNAVAILABLE',
      `数据源 ${def.name} 的数据库暂时连不上（${reason}），稍后会自动重试。`,
      `source ${def.name}: database unavailable: ${reason}`,
      details,
      e,
    );
  }
  if (MISSING_CODES.has(code)) {
    const columns = [def.cursor, def.key, ...new Set(Object.values(def.fields))].join('、');
    return configError(
      'SOURCE_DB_MISSING',
      `数据源 ${def.name}：数据库中没有配置所写的表 ${def.table} 或其中的列（${columns}）：${reason}。请核对配置中的 table、cursor、key 和 fields。`,
      `source ${def.name}: table or column missing: ${reason}`,
      details,
    );
  }
  if (ACCESS_CODES.has(code)) {
    return configError(
      'SOURCE_DB_ACCESS',
      `数据源 ${def.name}：数据库拒绝访问（${reason}），请核对连接地址中的用户、密码和权限。`,
      `source ${def.name}: access denied: ${reason}`,
      details,
    );
  }
  if (CURSOR_VALUE_CODES.has(code)) {
    return configError(
      'SOURCE_CURSOR_INVALID',
      `数据源 ${def.name}：游标列 ${def.cursor} 无法接受记录的游标值（${reason}），游标列是否改过？`,
      `source ${def.name}: cursor value does not fit column ${def.cursor}: ${reason}`,
      details,
    );
  }
  return e;
}
