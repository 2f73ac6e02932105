import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { posixQuote } from '../../src/shell/quote.js';

const HOSTILE = ["plain", '', "it's", "'", "''", '$(touch /tmp/pwned)', '`id`', '${HOME}', '"double"', 'back\\slash', 'new\nline', 'tab\there', 'ünïcødé ✓', '; rm -rf ~', '*', '!!'];

describe('POSIX quoting', () => {
  it.each(HOSTILE)('sh evaluates %j back to itself and runs nothing', (value) => {
    const script = `x=${posixQuote(value)}; printf %s "$x"`;
    const result = spawnSync('sh', ['-c', script], { encoding: 'utf8' });
    expect(result.status).toBe(0);
    expect(result.stdout).toBe(value);
  });
});
