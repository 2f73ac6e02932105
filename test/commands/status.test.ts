import { describe, expect, it } from 'vitest';
import { run } from '../../src/main.js';
import { fingerprint } from '../../src/io/redact.js';
import { testFactory } from '../helpers/factory.js';
import { AUTH_URL } from '../helpers/iam-responses.js';
import { loggedIn, MINUTE, PASSWORD } from '../helpers/steps.js';

const PASSPHRASE = 'file-store-passphrase-42';

interface Status {
  name: string;
  token: string;
  problem?: string;
  [key: string]: unknown;
}

/** `code`: status's exit code, about the profile in use (6: its store could not be read, and stderr says why). */
async function statusJson(t: ReturnType<typeof testFactory>, env: Record<string, string>, args: string[] = [], code = 0): Promise<Status[]> {
  t.clearOutput();
  expect(await run(['status', '--json', ...args], t.withEnv(env))).toBe(code);
  if (code === 0) expect(t.stderr()).toBe('');
  return JSON.parse(t.stdout()) as Status[];
}

describe('status --json', () => {
  it('reports a logged-in profile as valid, with its time left, offline', async () => {
    const t = testFactory();
    await loggedIn(t);
    t.clock.advance(20 * MINUTE);
    const [status, ...others] = await statusJson(t, {});
    expect(others).toEqual([]);
    expect(status).toMatchObject({ name: 'default', default: true, kind: 'keystone', store: 'keychain', iam: AUTH_URL, token: 'valid', expires_at: '2026-12-01T13:00:00Z', seconds_left: 2400, checked: 'offline' });
    expect(t.http.requests).toHaveLength(1); // the login only
  });

  it('shows the file-store passphrase in a store error as a fingerprint, never as itself', async () => {
    const t = testFactory();
    await loggedIn(t, 'gAAAA-first', ['--store', 'file']);
    t.failOn('default:token', new Error(`cannot decrypt the token: passphrase ${PASSPHRASE} does not open it`));
    const [status] = await statusJson(t, { AUTHCTL_FILE_PASSPHRASE: PASSPHRASE }, [], 6);
    expect(status).toMatchObject({ name: 'default', store: 'file', token: 'unreadable' });
    expect(status!.problem).toBe(`cannot decrypt the token: passphrase <${fingerprint(PASSPHRASE)}> does not open it`);
    expect(t.stdout()).not.toContain(PASSPHRASE);
  });

  it('shows OS_PASSWORD in a keychain error as a fingerprint, never as itself', async () => {
    const t = testFactory();
    await loggedIn(t);
    t.failOn('default:token', new Error(`keychain said: no entry for ${PASSWORD}`));
    const [status] = await statusJson(t, { OS_PASSWORD: PASSWORD }, [], 6);
    expect(status).toMatchObject({ name: 'default', token: 'unreadable' });
    expect(status!.problem).toBe(`keychain said: no entry for <${fingerprint(PASSWORD)}>`);
    expect(t.stdout()).not.toContain(PASSWORD);
  });

  it('one unreadable profile does not hide the others', async () => {
    const t = testFactory();
    await loggedIn(t);
    await loggedIn(t, 'gAAAA-work', ['--profile', 'work']);
    t.failOn('work:token', new Error('the keychain is locked'));
    const statuses = await statusJson(t, {});
    expect(statuses.map(({ name, token, problem }) => ({ name, token, problem }))).toEqual([
      { name: 'default', token: 'valid', problem: undefined },
      { name: 'work', token: 'unreadable', problem: 'the keychain is locked' },
    ]);
  });
});
