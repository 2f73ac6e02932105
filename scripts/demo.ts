/**
 * `npm run demo`: the whole tool at work in a few seconds, with no cloud account. Starts the
 * project's test IAM server on 127.0.0.1, logs in with a throwaway profile whose secrets go to a
 * throwaway file store, shows `token get`, `token check`, `export` and `eval`, then cleans up.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startRemoteIam } from '../test/helpers/iam-client.js';

const BIN = fileURLToPath(new URL('../bin/authctl', import.meta.url));
const tty = process.stdout.isTTY && !process.env.NO_COLOR;
const bold = (text: string) => (tty ? `\x1b[1m${text}\x1b[22m` : text);
const dim = (text: string) => (tty ? `\x1b[2m${text}\x1b[22m` : text);

function say(text: string): void {
  process.stdout.write(`\n${dim(`# ${text}`)}\n`);
}

/** Shows a command line, runs it through sh (so `eval` and pipes work as in a real shell), shows its output. */
function show(command: string, env: Record<string, string>, input?: string): void {
  process.stdout.write(`${bold(`$ ${command}`)}\n`);
  const result = spawnSync('sh', ['-c', command], { env: { ...env, PATH: `${join(BIN, '..')}:${process.env.PATH}` }, encoding: 'utf8', input });
  const output = `${result.stdout}${result.stderr}`.replace(/(gAAAAA[\w-]{12})[\w-]+/g, '$1…');
  process.stdout.write(output.endsWith('\n') || output === '' ? output : `${output}\n`);
  if (result.status !== 0) process.stdout.write(dim(`(exit ${result.status})\n`));
}

const iam = await startRemoteIam();
const home = mkdtempSync(join(tmpdir(), 'authctl-demo-'));
try {
  const realm = await iam.createRealm();
  const { user } = realm.fixtures;
  const env: Record<string, string> = {
    PATH: process.env.PATH ?? '/usr/bin:/bin',
    HOME: home,
    LANG: 'C.UTF-8',
    AUTHCTL_CONFIG_DIR: join(home, 'config'),
    AUTHCTL_STORE: 'file',
    AUTHCTL_FILE_PASSPHRASE: 'demo passphrase',
    ...(process.env.NO_COLOR ? { NO_COLOR: process.env.NO_COLOR } : {}),
  };

  say(`A test IAM server is running at ${realm.authUrl} (Keystone v3 API).`);
  say('Log in: the password comes from stdin here; at a terminal authctl would ask for it.');
  show(`authctl login --auth-url ${realm.authUrl} --username ${user.name} --user-domain Fiware --project /smartcity --password-stdin`, env, user.password);

  say('The token, for scripts: stdout holds the token and nothing else.');
  show('authctl token get', env);
  show('authctl token get --json', env);

  say('Check it at IAM (GET /v3/auth/tokens).');
  show('authctl token check', env);

  say('Hand it to the shell: export prints one quoted assignment; eval runs it.');
  show('authctl export', env);
  show('eval "$(authctl export)" && echo "Token is ${#Token} characters"', env);
  show('authctl export --shell fish --expiry', env);

  say('Everything at a glance, without network.');
  show('authctl status', env);

  say('Log out: the token is revoked at IAM and forgotten locally.');
  show('authctl logout', env);
  show('authctl token get', env);

  say('That was all on 127.0.0.1, in a throwaway directory that is now removed.');
} finally {
  await iam.stop();
  rmSync(home, { recursive: true, force: true });
}
