import { isGuijiError } from '../src/errors.js';

/** stdout carries results (JSON with --json); stderr carries logs, progress and errors. */
export function printJsonLine(value: unknown): void {
  process.stdout.write(`${JSON.stringify(value)}\n`);
}

export function say(text: string): void {
  process.stdout.write(`${text}\n`);
}

export function warn(text: string): void {
  process.stderr.write(`${text}\n`);
}

/** Prints an error for a person (Chinese first, English for the log) and returns the exit code. */
export function reportError(e: unknown, json: boolean): number {
  if (isGuijiError(e)) {
    if (json)
      process.stderr.write(`${JSON.stringify({ error: e.code, message: e.zh, en: e.message, ...e.details })}\n`);
    else warn(`错误 [${e.code}] ${e.zh}\n  (${e.message})`);
    return e.exitCode;
  }
  const err = e as Error;
  warn(`内部错误：${err?.message ?? String(e)}\n${err?.stack ?? ''}`);
  return 1;
}

/** A progress line on stderr for long work: rewritten in place on a terminal, a line every 10 s otherwise. */
export function makeProgress(label: () => string): { tick(): void; done(): void } {
  const tty = process.stderr.isTTY === true;
  const start = Date.now();
  let last = 0;
  let shown = false;
  return {
    tick() {
      const now = Date.now();
      if (now - start < 2000) return;
      if (now - last < (tty ? 500 : 10_000)) return;
      last = now;
      shown = true;
      if (tty) process.stderr.write(`\r${label()}\u001b[K`);
      else process.stderr.write(`${label()}\n`);
    },
    done() {
      if (shown && tty) process.stderr.write('\n');
    },
  };
}
