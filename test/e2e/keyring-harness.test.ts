/**
 * The test Secret Service itself (test/harness/keyring.ts): when gnome-keyring dies mid-run the
 * harness says so and starts it again, unlocked, with what was stored still there; and its bus
 * activates nothing, so no second, locked daemon can take the name behind the harness's back.
 */
import { spawnSync } from 'node:child_process';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { keyringMissing, type KeyringHarness } from '../harness/keyring.js';
import { privateKeyring } from '../helpers/private-keyring.js';
import { isolatedEnv, runCli } from '../helpers/cli.js';
import { requireOrSkip } from '../helpers/env.js';
import { loginEnv, newRealm } from '../helpers/realm.js';

const ready = requireOrSkip(keyringMissing(), 'keyring harness e2e (OS keychain)');

function busCall(harness: KeyringHarness, dest: string, path: string, method: string, ...args: string[]) {
  return spawnSync('gdbus', ['call', '--session', '--dest', dest, '--object-path', path, '--method', method, ...args], {
    env: { PATH: process.env.PATH, DBUS_SESSION_BUS_ADDRESS: harness.busAddress },
    encoding: 'utf8',
  });
}

function secretTool(harness: KeyringHarness, args: string[], input?: string) {
  return spawnSync('secret-tool', args, { env: { PATH: process.env.PATH, DBUS_SESSION_BUS_ADDRESS: harness.busAddress }, encoding: 'utf8', input });
}

/** Every gnome-keyring-daemon on this machine that runs in the harness's HOME. */
function daemonsOf(harness: KeyringHarness): number[] {
  const found: number[] = [];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      if (!readFileSync(`/proc/${name}/cmdline`, 'utf8').startsWith('gnome-keyring-daemon')) continue;
      const stat = readFileSync(`/proc/${name}/stat`, 'utf8');
      if (stat.slice(stat.lastIndexOf(')') + 2)[0] === 'Z') continue;
      if (readFileSync(`/proc/${name}/environ`, 'utf8').split('\0').includes(`HOME=${harness.home}`)) found.push(Number(name));
    } catch {
      // gone meanwhile, or not ours to read
    }
  }
  return found;
}

/** The pid owning org.freedesktop.secrets on the harness's bus. */
function secretsOwner(harness: KeyringHarness): number | undefined {
  const result = busCall(harness, 'org.freedesktop.DBus', '/org/freedesktop/DBus', 'org.freedesktop.DBus.GetConnectionUnixProcessID', 'org.freedesktop.secrets');
  const pid = /\(uint32 (\d+),\)/.exec(result.stdout);
  return pid ? Number(pid[1]) : undefined;
}

function loginLocked(harness: KeyringHarness): string {
  const result = busCall(harness, 'org.freedesktop.secrets', '/org/freedesktop/secrets/collection/login', 'org.freedesktop.DBus.Properties.Get', 'org.freedesktop.Secret.Collection', 'Locked');
  return result.stdout.trim() || result.stderr.trim();
}

async function until<T>(what: string, check: () => T | undefined, timeoutMs = 15_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = check();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

describe.runIf(ready)('the test Secret Service', () => {
  const keyring = privateKeyring();

  it('its bus starts nothing: no activatable names, and asking for the Secret Service by name is refused', () => {
    const harness = keyring();
    const activatable = busCall(harness, 'org.freedesktop.DBus', '/org/freedesktop/DBus', 'org.freedesktop.DBus.ListActivatableNames');
    expect(activatable.status, activatable.stderr).toBe(0);
    expect(activatable.stdout.trim()).toBe("(['org.freedesktop.DBus'],)");
    // The system's /usr/share/dbus-1/services would start `gnome-keyring-daemon --start` (no
    // password: a locked login keyring) for the first, and a GUI prompter for the second.
    for (const name of ['org.freedesktop.secrets', 'org.gnome.keyring.SystemPrompter']) {
      const start = busCall(harness, 'org.freedesktop.DBus', '/org/freedesktop/DBus', 'org.freedesktop.DBus.StartServiceByName', name, 'uint32 0');
      expect(start.status, name).toBe(1);
      expect(start.stderr).toContain(`org.freedesktop.DBus.Error.ServiceUnknown: The name ${name} was not provided by any .service files`);
    }
  });

  it('a daemon killed with SIGKILL is restarted unlocked, with what was stored before, and no other daemon appears', async () => {
    const harness = keyring();
    // Stored through the CLI (a token, in the real Secret Service) and by secret-tool.
    const realm = await newRealm();
    const env = isolatedEnv({ ...loginEnv(realm), DBUS_SESSION_BUS_ADDRESS: harness.busAddress });
    const keyringFile = join(harness.home, 'data', 'keyrings', 'login.keyring');
    const before = statSync(keyringFile);
    expect((await runCli(['login'], { env })).code).toBe(0);
    const token = await runCli(['token', 'get'], { env: { ...env, OS_PASSWORD: undefined } });
    expect([token.code, token.stderr]).toEqual([0, '']);
    expect(secretTool(harness, ['store', '--label', 'harness check', 'service', 'authctl-harness-check', 'username', 'u'], 'still here').status).toBe(0);
    // gnome-keyring writes the keyring file on every change, not lazily at exit: a SIGKILL loses nothing.
    const after = statSync(keyringFile);
    expect(after.mtimeMs).toBeGreaterThan(before.mtimeMs);
    expect(after.size).toBeGreaterThan(before.size);

    const first = harness.keyringPid;
    expect(daemonsOf(harness)).toEqual([first]);
    expect(secretsOwner(harness)).toBe(first);
    expect(harness.notices).toEqual([]);
    process.kill(first, 'SIGKILL');
    await until('the harness to restart the daemon', () => (harness.restarts === 1 ? true : undefined));
    await harness.ready();
    // One loud line (also on stderr), naming the daemon, how it died and where its log is.
    expect(harness.notices).toHaveLength(1);
    expect(harness.notices[0]).toMatch(new RegExp(`^test keyring: gnome-keyring-daemon \\(pid ${first}\\) died while tests were running \\(signal SIGKILL\\); restarting it \\(restart 1\\); last lines of \\S+/gnome-keyring\\.log: \\[`));

    // (a) A new daemon, unlocked, serving what was stored before the kill.
    const second = harness.keyringPid;
    expect(second).not.toBe(first);
    expect(loginLocked(harness)).toBe('(<false>,)');
    const lookup = secretTool(harness, ['lookup', 'service', 'authctl-harness-check', 'username', 'u']);
    expect([lookup.status, lookup.stdout]).toEqual([0, 'still here']);
    const again = await runCli(['token', 'get'], { env: { ...env, OS_PASSWORD: undefined } });
    expect([again.code, again.stdout, again.stderr]).toEqual([0, token.stdout, '']);
    expect(await realm.count('POST')).toBe(1); // the cached token was read, not renewed

    // (b) Exactly one daemon, ours, owns the name: nothing was activated behind the harness's back.
    expect(daemonsOf(harness)).toEqual([second]);
    expect(secretsOwner(harness)).toBe(second);

    // lock() still acts on the current daemon.
    harness.lock();
    expect(loginLocked(harness)).toBe('(<true>,)');
  });
});
