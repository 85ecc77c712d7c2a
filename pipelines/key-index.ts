/**
 * Which rows of a batch repeat a natural key seen earlier in the batch, known while the file is read, so
 * that the rest of the batch can be merged as it is staged (src/warehouse/merge-as-staged.ts) and only
 * the repeats wait for the end ("the last valid one wins", DESIGN.md §2).
 *
 * A key is remembered as a 32-bit print and the row that first brought it. A row whose print is already
 * there is a *later* row, reported with that *early* row; the print may belong to another key (two keys
 * share a print about once in four billion pairs), so the warehouse compares the keys themselves before
 * it treats the early row as the same record. A row whose print is new owns it and is merged at once,
 * unless a repeat of it is seen before its range merges (then it waits with its repeats).
 */
import type { Row } from '../src/types.js';

/** FNV-1a over the key's UTF-16 code units: cheap, and spread well enough for a table indexed by its low bits. */
export function keyPrint(key: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < key.length; i++) {
    h ^= key.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h | 0;
}

/** [row number, key print] pairs of keyed rows, in the rows' order (what a stage thread sends back). */
export function keyPrints(rows: readonly Row[]): Int32Array {
  const out = new Int32Array(rows.length * 2);
  let p = 0;
  for (const r of rows) {
    if (r.key === undefined) continue;
    out[p++] = r.prov.rowNumber;
    out[p++] = keyPrint(r.key);
  }
  return p === out.length ? out : out.slice(0, p);
}

/** Later rows found by one `add`: later[i] repeats a key first seen at early[i] (0: not known, see below). */
export interface LaterRows {
  later: number[];
  early: number[];
}

export interface KeyIndexOptions {
  /** Slots to start with (a power of two). */
  initialSlots?: number;
  /** Slots at most (a power of two): 2^22 slots of 8 bytes hold ~3 million keys in 32 MB. */
  maxSlots?: number;
}

/**
 * An open-addressing table of [print, row] pairs (linear probing, row 0 marks a free slot: row numbers
 * start at 1). It doubles up to `maxSlots`; once that is full it only looks prints up, and a row whose
 * print is not there is reported as later with early row 0, so it waits for the end with the repeats
 * instead of being merged at once: memory stays bounded, and the outcome is the same, only later.
 */
export class BatchKeyIndex {
  private slots: Int32Array;
  private mask: number;
  private used = 0;
  private readonly maxSlots: number;
  /** The table is full: no new print is taken. */
  full = false;

  constructor(opts: KeyIndexOptions = {}) {
    // A power of two, at least 4: a full table keeps a free slot, where every probe for a new print ends.
    const initial = 2 ** Math.ceil(Math.log2(Math.max(4, opts.initialSlots ?? 1 << 16)));
    this.maxSlots = Math.max(initial, opts.maxSlots ?? 1 << 22);
    this.slots = new Int32Array(initial * 2);
    this.mask = initial - 1;
  }

  /** Notes a chunk's [row, print] pairs; returns its later rows, added to `found` if given. */
  add(prints: Int32Array, found: LaterRows = { later: [], early: [] }): LaterRows {
    for (let i = 0; i < prints.length; i += 2) {
      const row = prints[i] as number;
      const print = prints[i + 1] as number;
      const early = this.lookupOrTake(print, row);
      if (early !== row) {
        found.later.push(row);
        found.early.push(early);
      }
    }
    return found;
  }

  /** The row that owns `print`; `row` itself if it took a free slot; 0 if the table is full and it is new. */
  private lookupOrTake(print: number, row: number): number {
    const s = this.slots;
    let j = mix(print) & this.mask;
    for (;;) {
      const owner = s[2 * j + 1] as number;
      if (owner === 0) break;
      if (s[2 * j] === print) return owner;
      j = (j + 1) & this.mask;
    }
    if (this.full) return 0;
    s[2 * j] = print;
    s[2 * j + 1] = row;
    this.used++;
    // Kept under 3/4 full: linear probing slows down quickly past that.
    if (this.used * 4 >= (this.mask + 1) * 3) this.grow();
    return row;
  }

  private grow(): void {
    const size = (this.mask + 1) * 2;
    if (size > this.maxSlots) {
      this.full = true;
      return;
    }
    const old = this.slots;
    this.slots = new Int32Array(size * 2);
    this.mask = size - 1;
    for (let i = 0; i < old.length; i += 2) {
      const row = old[i + 1] as number;
      if (row === 0) continue;
      let j = mix(old[i] as number) & this.mask;
      while (this.slots[2 * j + 1] !== 0) j = (j + 1) & this.mask;
      this.slots[2 * j] = old[i] as number;
      this.slots[2 * j + 1] = row;
    }
  }
}

/** FNV's low bits vary least: fold the high half in before taking them. */
function mix(h: number): number {
  return h ^ (h >>> 16);
}
