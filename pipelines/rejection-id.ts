/**
 * The hidden column an annotated workbook carries (issue 4): the id of the rejection each row came
 * from. A file that comes back with it resolves those rejections instead of creating new ones.
 * The header is matched exactly (after trimming), never as a catalog field.
 */
export const REJECTION_ID_HEADER = '退回编号（系统使用，请勿修改）';

/** The rejection id a cell holds, or undefined when it holds none (or anything but a positive integer). */
export function parseRejectionId(cell: unknown): number | undefined {
  const text = typeof cell === 'number' ? String(cell) : typeof cell === 'string' ? cell.trim() : '';
  if (!/^[1-9][0-9]{0,15}$/.test(text)) return undefined;
  const n = Number(text);
  return Number.isSafeInteger(n) ? n : undefined;
}

/** The column index of the rejection id in a sheet's headers, or -1. */
export function rejectionIdColumn(headers: readonly string[]): number {
  return headers.findIndex((h) => typeof h === 'string' && h.trim() === REJECTION_ID_HEADER);
}
