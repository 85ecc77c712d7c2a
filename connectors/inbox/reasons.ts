import { printableName } from './file-names.js';

/** One explanation for a clerk (zh) and for logs (en). */
export interface Reason {
  zh: string;
  en: string;
}

export function alreadyIngestedReason(batchIds: readonly string[], sha256: string): Reason {
  const ids = batchIds.length > 0 ? batchIds : ['（未知）'];
  return {
    zh: `这个文件的内容与批次 ${ids.join('、')} 已经导入的文件完全相同（SHA-256 ${sha256}），本次没有重复导入任何数据。如需更正数据，请修改文件内容后重新提交。`,
    en: `Same bytes (SHA-256 ${sha256}) as already ingested in batch ${batchIds.join(', ') || '(unknown)'}; nothing was loaded again.`,
  };
}

export function misplacedReason(): Reason {
  return {
    zh: '文件直接放在了收件箱的最外层，无法确定属于哪个县区，没有导入。请把文件放进以本县区行政区划代码命名的文件夹（例如 230184）后重新提交。',
    en: 'The file was dropped in the inbox root, not in a county folder (a 6-digit division code such as 230184); it was not ingested.',
  };
}

export function internalErrorReason(message: string): Reason {
  return {
    zh: '处理这个文件时 guiji 发生了内部错误，文件没有导入。这不一定是文件本身的问题：请联系运维人员，并把本说明一并发给他们。',
    en: `Internal error while handling the file (not necessarily a problem of the file): ${message}`,
  };
}

/** The clerk's name could not be kept: say what it was and what it is stored as. */
export function renamedReason(original: string, safe: string, notUtf8: boolean): Reason {
  if (notUtf8) {
    return {
      zh: `原文件名不是 UTF-8 编码（按 GB18030 识别为“${printableName(original)}”），已改名为“${safe}”保存。`,
      en: `The original name was not UTF-8 (read as GB18030: "${printableName(original)}"); stored as "${safe}".`,
    };
  }
  return {
    zh: `原文件名“${printableName(original)}”含有不能用于保存的字符（如 / \\ .. 或控制字符）或过长，已改名为“${safe}”保存。`,
    en: `The original name "${printableName(original)}" was unsafe or too long; stored as "${safe}".`,
  };
}

const HEADINGS = {
  done: { zh: (n: string) => `文件“${n}”已导入。`, en: (n: string) => `The file "${n}" was ingested.` },
  already: {
    zh: (n: string) => `文件“${n}”没有重复导入。`,
    en: (n: string) => `The file "${n}" was not ingested again.`,
  },
  failed: { zh: (n: string) => `文件“${n}”没有导入。`, en: (n: string) => `The file "${n}" was not ingested.` },
} as const;

/**
 * The text of a `.reason.txt`: the Chinese explanation first, then the English one. A BOM and CRLF
 * line ends, because clerks open it with Notepad on Windows, which otherwise may guess GBK.
 */
export function reasonFileText(status: keyof typeof HEADINGS, displayName: string, reasons: readonly Reason[]): string {
  const name = printableName(displayName);
  const zh = [HEADINGS[status].zh(name), ...reasons.map((r) => r.zh)];
  const en = [HEADINGS[status].en(name), ...reasons.map((r) => r.en)];
  return `\ufeff${[...zh, '', ...en, ''].join('\r\n')}`;
}
