import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.js';
import { GuijiError } from '../../src/errors.js';

// The environment is passed in: nothing here reads or changes process.env.
const base = { GUIJI_HOME: '/tmp/guiji-config-settings-test' };

describe('loadConfig: the CSV chunk size for the threads', () => {
  it('is unset by default (the reader then cuts about 1 MB per chunk)', () => {
    expect(loadConfig(base).csvChunkBytes).toBeUndefined();
  });

  it('takes GUIJI_CSV_CHUNK_BYTES', () => {
    expect(loadConfig({ ...base, GUIJI_CSV_CHUNK_BYTES: '2048' }).csvChunkBytes).toBe(2048);
  });

  it('refuses a value that is not a whole number from 64 up, naming the setting', () => {
    for (const bad of ['12', '1.5', 'abc']) {
      let err: unknown;
      try {
        loadConfig({ ...base, GUIJI_CSV_CHUNK_BYTES: bad });
      } catch (e) {
        err = e;
      }
      expect(err).toBeInstanceOf(GuijiError);
      expect((err as GuijiError).code).toBe('CONFIG_SETTING');
      expect((err as GuijiError).zh).toContain('GUIJI_CSV_CHUNK_BYTES');
    }
  });
});
