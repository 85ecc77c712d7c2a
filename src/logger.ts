import { pino } from 'pino';
import type { Logger } from './types.js';

/** Logs go to stderr (stdout carries --json output). */
export function makeLogger(level: string): Logger {
  return pino({ level, base: undefined }, pino.destination({ fd: 2, sync: true })) as unknown as Logger;
}
