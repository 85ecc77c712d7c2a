import { describe, expect, it } from 'vitest';
import { BufferPool, pooledBytes } from '../../src/executors/buffer-pool.js';

describe('BufferPool', () => {
  it('hands back a given buffer only when it is large enough, and each buffer once', () => {
    const pool = new BufferPool();
    const small = new ArrayBuffer(1024);
    const large = new ArrayBuffer(4096);
    pool.give(small);
    pool.give(large);
    expect(pool.take(2048)).toBe(large);
    expect(pool.take(2048)).toBeUndefined();
    expect(pool.take(512)).toBe(small);
    expect(pool.size).toBe(0);
  });

  it('keeps at most `keep` buffers and ignores transferred (detached) ones', () => {
    const pool = new BufferPool(2);
    for (let i = 0; i < 5; i++) pool.give(new ArrayBuffer(16));
    expect(pool.size).toBe(2);
    const moved = new ArrayBuffer(16);
    structuredClone(moved, { transfer: [moved] });
    pool.give(moved);
    pool.give(undefined);
    expect(pool.size).toBe(2);
  });

  it('pooledBytes: exactly the bytes asked for, over a pooled buffer when one is large enough', () => {
    const pool = new BufferPool();
    const big = new ArrayBuffer(8192);
    pool.give(big);
    const b = pooledBytes(pool, 3000);
    expect(b.length).toBe(3000);
    expect(b.buffer).toBe(big);
    const fresh = pooledBytes(pool, 100);
    expect(fresh.length).toBe(100);
    expect(fresh.buffer).not.toBe(big);
    expect(pooledBytes(undefined, 10).length).toBe(10);
  });
});
