/**
 * A real Secret Service for tests: a private D-Bus session bus with gnome-keyring on it, in a
 * throwaway HOME, unlocked with a throwaway password (recipe: shared/reference/keychain.md).
 * The CLI under test reaches it through DBUS_SESSION_BUS_ADDRESS.
 */
import { execFile, spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { promisify } from 'node:util';
import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface KeyringHarness {
  busAddress: string;
  home: string;
  keyringPid: number;
  /** Locks the login collection: reads then fail as they would on a locked desktop keyring. */
  lock(): void;
  /** Freezes the daemon (SIGSTOP) so calls hang, as with a wedged keyring; `thaw` resumes it. */
  freeze(): void;
  thaw(): void;
  stop(): Promise<void>;
}

export type KeyringStart = { ok: true; keyring: KeyringHarness } | { ok: false; reason: string };

const REQUIRED = ['/usr/bin/dbus-daemon', '/usr/bin/gnome-keyring-daemon', '/usr/bin/gdbus'];
export const KEYRING_INSTALL = 'apt-get install -y --no-install-recommends dbus gnome-keyring libsecret-tools';

export function keyringMissing(): string | undefined {
  const missing = REQUIRED.filter((path) => !existsSync(path));
  return missing.length ? `no Secret Service to test against (${missing.join(', ')} not found): ${KEYRING_INSTALL}` : undefined;
}

function readLine(child: ChildProcess): Promise<string> {
  return new Promise((resolve, reject) => {
    let text = '';
    child.stdout!.on('data', (chunk: Buffer) => {
      text += chunk.toString();
      const newline = text.indexOf('\n');
      if (newline >= 0) resolve(text.slice(0, newline).trim());
    });
    child.once('exit', (code) => reject(new Error(`dbus-daemon exited with ${code} before printing its address`)));
  });
}

function exited(child: ChildProcess): Promise<void> {
  return child.exitCode !== null || child.signalCode !== null ? Promise.resolve() : new Promise((resolve) => child.once('exit', () => resolve()));
}

export async function startKeyring(): Promise<KeyringStart> {
  const missing = keyringMissing();
  if (missing) return { ok: false, reason: missing };

  const home = mkdtempSync(join(tmpdir(), 'authctl-keyring-'));
  const runtime = join(home, 'run');
  mkdirSync(runtime, { mode: 0o700 });
  const baseEnv = { PATH: '/usr/sbin:/usr/bin:/sbin:/bin', HOME: home, XDG_RUNTIME_DIR: runtime, XDG_DATA_HOME: join(home, 'data') };

  const bus = spawn('dbus-daemon', ['--session', '--nofork', '--print-address=1'], { env: baseEnv, stdio: ['ignore', 'pipe', 'ignore'] });
  const busAddress = await readLine(bus);
  const env = { ...baseEnv, DBUS_SESSION_BUS_ADDRESS: busAddress };

  const daemon = spawn('gnome-keyring-daemon', ['--foreground', '--unlock', '--components=secrets'], { env, stdio: ['pipe', 'ignore', 'ignore'] });
  daemon.stdin!.end('authctl-test-keyring-password');
  // Without this wait a first client can start a second daemon (keychain.md). Asynchronous:
  // the password is still being written to the daemon's stdin by this event loop.
  try {
    await promisify(execFile)('gdbus', ['wait', '--session', '--timeout', '10', 'org.freedesktop.secrets'], { env });
  } catch (error) {
    daemon.kill('SIGKILL');
    bus.kill('SIGKILL');
    throw new Error(`gnome-keyring did not appear on the bus: ${(error as Error).message}`);
  }

  const keyring: KeyringHarness = {
    busAddress,
    home,
    keyringPid: daemon.pid!,
    lock() {
      const result = spawnSync(
        'gdbus',
        ['call', '--session', '--dest', 'org.freedesktop.secrets', '--object-path', '/org/freedesktop/secrets', '--method', 'org.freedesktop.Secret.Service.Lock', "['/org/freedesktop/secrets/collection/login']"],
        { env, encoding: 'utf8' },
      );
      if (result.status !== 0) throw new Error(`could not lock the keyring: ${result.stderr}`);
    },
    freeze: () => void daemon.kill('SIGSTOP'),
    thaw: () => void daemon.kill('SIGCONT'),
    async stop() {
      daemon.kill('SIGCONT');
      daemon.kill('SIGTERM');
      bus.kill('SIGTERM');
      await Promise.all([exited(daemon), exited(bus)]);
      rmSync(home, { recursive: true, force: true });
    },
  };
  return { ok: true, keyring };
}
