import { describe, expect, it } from 'vitest';
import { ChunkedStore, splitUtf16 } from '../../src/store/chunked.js';
import { MemoryStore } from '../helpers/memory-store.js';

describe('chunked storage', () => {
  it('stores a small value whole', async () => {
    const memory = new MemoryStore();
    const store = new ChunkedStore(memory, 100);
    await store.write('a', 'value');
    expect([...memory.entries.keys()]).toEqual(['a']);
    expect(await store.read('a')).toEqual({ value: 'value' });
  });

  it('splits a 16 KB token into parts under the limit and reassembles it', async () => {
    const memory = new MemoryStore();
    const store = new ChunkedStore(memory, 1200);
    const token = `MII${'A'.repeat(16 * 1024)}`;
    await store.write('a', token);
    expect(memory.entries.size).toBe(1 + Math.ceil(token.length / 1200));
    for (const value of memory.entries.values()) expect(value.length).toBeLessThanOrEqual(1200);
    expect(await store.read('a')).toEqual({ value: token });
  });

  it('keeps the generation it replaced until the next write, then removes it', async () => {
    const memory = new MemoryStore();
    const store = new ChunkedStore(memory, 256);
    await store.write('a', 'x'.repeat(1280)); // 5 parts
    await store.write('a', 'y'.repeat(768)); // 3 parts; the 5 stay for readers of the old manifest
    expect(memory.entries.size).toBe(1 + 3 + 5);
    await store.write('a', 'z'.repeat(768));
    expect(memory.entries.size).toBe(1 + 3 + 3);
    expect(await store.read('a')).toEqual({ value: 'z'.repeat(768) });
    await store.write('a', 'small');
    expect(memory.entries.size).toBe(1);
    await store.write('a', 'w'.repeat(768));
    await store.delete('a');
    expect(memory.entries.size).toBe(0);
  });

  it('a reader that fetched the old manifest still reads a whole value while a write lands', async () => {
    const memory = new MemoryStore();
    const store = new ChunkedStore(memory, 256);
    await store.write('a', 'x'.repeat(1280));
    const oldManifest = memory.entries.get('a')!;
    await store.write('a', 'y'.repeat(1280));
    // Simulate the race: the reader got the old manifest just before the write.
    const racing = new ChunkedStore(
      Object.assign(Object.create(memory) as MemoryStore, { get: async (key: string) => (key === 'a' ? oldManifest : memory.entries.get(key)) }),
      256,
    );
    expect(await racing.read('a')).toEqual({ value: 'x'.repeat(1280) });
  });

  it('reads a missing or altered part as a miss, never as a wrong value', async () => {
    const memory = new MemoryStore();
    const store = new ChunkedStore(memory, 256);
    await store.write('a', 'z'.repeat(1100));
    const part = [...memory.entries.keys()].find((key) => key.endsWith('.2'))!;
    memory.entries.set(part, 'q'.repeat(256));
    expect(await store.read('a')).toEqual({ problem: 'incomplete' });
    memory.entries.delete(part);
    expect(await store.read('a')).toEqual({ problem: 'incomplete' });
  });

  it('keeps the previous value readable when a write dies before its manifest', async () => {
    const memory = new MemoryStore();
    const store = new ChunkedStore(memory, 100);
    await store.write('a', 'old'.repeat(100));
    // A write that crashes after its parts: simulate by failing the manifest write.
    const failing = new ChunkedStore(
      Object.assign(Object.create(memory) as MemoryStore, {
        set: async (account: string, value: string) => {
          if (account === 'a') throw new Error('killed');
          memory.entries.set(account, value);
        },
      }),
      100,
    );
    await expect(failing.write('a', 'new'.repeat(100))).rejects.toThrow('killed');
    expect(await store.read('a')).toEqual({ value: 'old'.repeat(100) });
  });

  it('reads an entry that is not ours as foreign', async () => {
    const memory = new MemoryStore();
    memory.entries.set('a', 'someone else wrote this');
    expect(await new ChunkedStore(memory, 100).read('a')).toEqual({ problem: 'foreign' });
  });

  it('never cuts a surrogate pair', () => {
    const value = '😀'.repeat(10);
    const parts = splitUtf16(value, 3);
    expect(parts.join('')).toBe(value);
    // Every part is well-formed UTF-16: no lone surrogate at either end.
    for (const part of parts) expect(part).toMatch(/^(?![\udc00-\udfff])[\s\S]*(?<![\ud800-\udbff])$/);
  });
});
