import { internalError } from '../errors.js';

const IDENT = /^[a-z][a-z0-9_]{0,62}$/;

/**
 * Checks a SQL identifier (table or column name from a catalog) before it touches SQL and returns it
 * double-quoted. Values never go through here: they are always bound parameters.
 */
export function ident(name: string): string {
  if (!IDENT.test(name)) {
    throw internalError(
      'BAD_IDENTIFIER',
      `目录中的表名或列名“${name}”不合规（只允许小写字母、数字和下划线，以字母开头，最长 63 个字符），请修改目录文件。`,
      `identifier ${JSON.stringify(name)} does not match ${IDENT.source}`,
      { identifier: name },
    );
  }
  return `"${name}"`;
}

/** True when `name` is a safe identifier. */
export function isIdent(name: string): boolean {
  return IDENT.test(name);
}
