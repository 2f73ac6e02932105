import { describe, expect, it } from 'vitest';
import { runFast } from '../../src/fast.js';
import { run } from '../../src/main.js';
import { testFactory, type TestHarness } from '../helpers/factory.js';
import { AUTH_URL } from '../helpers/iam-responses.js';
import { loggedIn, OS_ENV } from '../helpers/steps.js';

/** A token with the characters each shell's quoting has to get right (printable ASCII, as IAM's tokens are). */
const AWKWARD = `gAAAA'it"s$HOME\\n;$(id)`;

async function exported(t: TestHarness, argv: string[], env: Record<string, string> = { ...OS_ENV }) {
  const full = { code: await run(['export', ...argv], t.withEnv(env)), stdout: t.stdout(), stderr: t.stderr() };
  t.clearOutput();
  const fast = { code: await runFast(['export', ...argv], t.withEnv(env)), stdout: t.stdout(), stderr: t.stderr() };
  t.clearOutput();
  expect(fast).toEqual(full);
  return full;
}

describe('export', () => {
  it('--shell sh (the default) prints one export line', async () => {
    const t = testFactory();
    await loggedIn(t, 'gAAAA-plain');
    expect(await exported(t, [])).toEqual({ code: 0, stdout: "export Token='gAAAA-plain'\n", stderr: '' });
    expect(await exported(t, ['--shell', 'sh'])).toEqual({ code: 0, stdout: "export Token='gAAAA-plain'\n", stderr: '' });
  });

  it('--shell sh quotes every character literally', async () => {
    const t = testFactory();
    await loggedIn(t, AWKWARD);
    expect(await exported(t, ['--shell', 'sh'])).toEqual({ code: 0, stdout: `export Token='gAAAA'\\''it"s$HOME\\n;$(id)'\n`, stderr: '' });
  });

  it('--shell fish prints set -gx, escaping \\ and \' only', async () => {
    const t = testFactory();
    await loggedIn(t, AWKWARD);
    expect(await exported(t, ['--shell', 'fish'])).toEqual({ code: 0, stdout: `set -gx Token 'gAAAA\\'it"s$HOME\\\\n;$(id)'\n`, stderr: '' });
  });

  it('--var and --expiry name and add the variables', async () => {
    const t = testFactory();
    await loggedIn(t, 'gAAAA-plain');
    expect(await exported(t, ['--shell', 'fish', '--var', 'API_TOKEN', '--expiry'])).toEqual({
      code: 0,
      stdout: "set -gx API_TOKEN 'gAAAA-plain'\nset -gx API_TOKEN_EXPIRES_AT '2026-12-01T13:00:00Z'\n",
      stderr: '',
    });
  });

  it('--openstack sets what OpenStack clients read', async () => {
    const t = testFactory();
    await loggedIn(t, 'gAAAA-plain');
    expect(await exported(t, ['--openstack'])).toEqual({
      code: 0,
      stdout: `export OS_AUTH_TYPE='token'\nexport OS_TOKEN='gAAAA-plain'\nexport OS_AUTH_URL='${AUTH_URL}'\nexport OS_PROJECT_ID='p-demo'\n`,
      stderr: '',
    });
  });

  it('--unset needs no token, store or network', async () => {
    const t = testFactory();
    expect(await exported(t, ['--unset', '--shell', 'fish'], {})).toEqual({ code: 0, stdout: 'set -e Token\n', stderr: '' });
    expect(await exported(t, ['--unset'], {})).toEqual({ code: 0, stdout: 'unset Token\n', stderr: '' });
    expect(t.opened).toEqual([]);
  });

  it('a bad --var is exit 2 with the error and hint, and nothing on stdout', async () => {
    const t = testFactory();
    await loggedIn(t, 'gAAAA-plain');
    expect(await exported(t, ['--var', '1BAD'])).toEqual({
      code: 2,
      stdout: '',
      stderr: 'authctl: --var "1BAD" is not a valid variable name\nhint: use letters, digits and _, not starting with a digit\n',
    });
  });

  it.each(['PATH', 'LD_PRELOAD', 'BASH_ENV', 'PS1', 'NODE_OPTIONS', 'IFS'])('--var %s, a variable that changes how programs run: exit 2 for export and exec, nothing printed or run', async (name) => {
    const t = testFactory();
    await loggedIn(t, 'gAAAA-plain');
    const said = `authctl: --var ${name} would put the token in a variable that changes how programs run\nhint: name a variable of your own, e.g. --var OS_TOKEN\n`;
    expect(await exported(t, ['--var', name])).toEqual({ code: 2, stdout: '', stderr: said });
    t.clearOutput();
    expect(await run(['exec', '--var', name, '--', 'true'], t.withEnv({ ...OS_ENV }))).toBe(2);
    expect(t.stderr()).toBe(said);
  });

  it('exit 3 and an empty stdout when there is no token: `eval` gets nothing to run', async () => {
    const t = testFactory();
    const result = await exported(t, [], { ...OS_ENV });
    expect(result.code).toBe(3);
    expect(result.stdout).toBe('');
    expect(result.stderr).toBe(
      'authctl: no token is cached for profile default, and there is no saved secret to renew it\nhint: run `authctl login` (to renew silently: OS_PASSWORD or `authctl login --save-password`)\n',
    );
  });
});
