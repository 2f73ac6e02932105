import { describe, expect, it } from 'vitest';
import type { Env, OutputStream } from '../../src/io/io.js';
import { SecretRegistry } from '../../src/io/redact.js';
import { Reporter } from '../../src/io/reporter.js';

function report(isTTY: boolean, env: Env = {}): string {
  let text = '';
  const stderr: OutputStream = { isTTY, write: (chunk: string) => (text += chunk) };
  const reporter = new Reporter(() => stderr, env, new SecretRegistry(), true);
  reporter.success('done');
  reporter.warn('careful');
  reporter.error('failed', 'try again');
  reporter.debug('detail');
  reporter.info('plain');
  return text;
}

describe('the reporter', () => {
  it('colours on a terminal: green, yellow, red and dim (whatever process.stdout is: here a pipe)', () => {
    expect(process.stdout.isTTY).toBeFalsy();
    expect(report(true)).toBe(
      '\x1b[32mdone\x1b[39m\n\x1b[33mwarning:\x1b[39m careful\n\x1b[31mauthctl:\x1b[39m failed\n\x1b[2mhint:\x1b[22m try again\n\x1b[2mdebug: detail\x1b[22m\nplain\n',
    );
  });

  it.each([
    ['not a terminal', false, {}],
    ['NO_COLOR', true, { NO_COLOR: '1' }],
    ['TERM=dumb', true, { TERM: 'dumb' }],
  ])('writes no colour when %s', (_, isTTY, env) => {
    expect(report(isTTY, env)).toBe('done\nwarning: careful\nauthctl: failed\nhint: try again\ndebug: detail\nplain\n');
  });

  it('takes no colour hint from the environment but NO_COLOR: FORCE_COLOR=0 is not ours to read', () => {
    expect(report(true, { FORCE_COLOR: '0' })).toContain('\x1b[31mauthctl:\x1b[39m');
  });
});
