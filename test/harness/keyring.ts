/**
 * A real Secret Service for tests: a private D-Bus session bus with gnome-keyring on it, in a
 * throwaway HOME, unlocked with a throwaway password (recipe: shared/reference/keychain.md).
 * The CLI under test reaches it through DBUS_SESSION_BUS_ADDRESS.
 *
 * Robust against the daemon dying mid-run:
 * - the bus runs on a config of its own with no service directories, so nothing is ever
 *   D-Bus-activated on it: if gnome-keyring is gone, clients get an immediate "not provided by
 *   any .service files" instead of a fresh, locked daemon (the system's
 *   org.freedesktop.secrets.service starts one with `--start` and no password);
 * - the daemon is watched: if it exits while the harness is not stopping, one loud line goes to
 *   stderr (how it ended and the last lines of its log, `<home>/gnome-keyring.log`) and it is
 *   started again with the same HOME and password, which unlocks the login keyring on disk.
 */
import { execFile, spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { promisify } from 'node:util';
import { closeSync, existsSync, mkdirSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface KeyringHarness {
  busAddress: string;
  home: string;
  /** The pid of the gnome-keyring-daemon running now (it changes when the harness restarts one). */
  readonly keyringPid: number;
  /** How many times the daemon died and was started again. */
  readonly restarts: number;
  /** Every loud line the harness wrote to stderr (a daemon or the bus that died), in order. */
  readonly notices: readonly string[];
  /** The daemon's stdout and stderr, appended across restarts. */
  logFile: string;
  /** Resolves once a daemon is on the bus (waits for a restart in progress). */
  ready(): Promise<void>;
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
const PASSWORD = 'authctl-test-keyring-password';
/** Restarts allowed before the harness gives up (a daemon that cannot stay up is a real failure). */
const MAX_RESTARTS = 10;

export function keyringMissing(): string | undefined {
  const missing = REQUIRED.filter((path) => !existsSync(path));
  return missing.length ? `no Secret Service to test against (${missing.join(', ')} not found): ${KEYRING_INSTALL}` : undefined;
}

/**
 * /usr/share/dbus-1/session.conf minus everything that starts programs: no
 * <standard_session_servicedirs/>, no <servicedir>, no included files (which could add some).
 */
function busConfig(socketDir: string): string {
  return `<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <type>session</type>
  <keep_umask/>
  <listen>unix:tmpdir=${socketDir}</listen>
  <auth>EXTERNAL</auth>
  <policy context="default">
    <allow send_destination="*" eavesdrop="true"/>
    <allow eavesdrop="true"/>
    <allow own="*"/>
  </policy>
  <limit name="max_incoming_bytes">1000000000</limit>
  <limit name="max_outgoing_bytes">1000000000</limit>
  <limit name="max_message_size">1000000000</limit>
  <limit name="auth_timeout">240000</limit>
  <limit name="max_completed_connections">100000</limit>
  <limit name="max_incomplete_connections">10000</limit>
  <limit name="max_connections_per_user">100000</limit>
  <limit name="max_names_per_connection">50000</limit>
  <limit name="max_match_rules_per_connection">50000</limit>
  <limit name="max_replies_per_connection">50000</limit>
</busconfig>
`;
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

/** Running and not a zombie (a child killed but not yet reaped by Node still has its pid). */
function alive(child: ChildProcess): boolean {
  if (child.exitCode !== null || child.signalCode !== null) return false;
  try {
    const stat = readFileSync(`/proc/${child.pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2)[0] !== 'Z';
  } catch {
    return false;
  }
}

function tail(path: string, lines: number): string[] {
  try {
    return readFileSync(path, 'utf8').split('\n').filter((line) => line.trim() !== '').slice(-lines);
  } catch {
    return [];
  }
}

export async function startKeyring(): Promise<KeyringStart> {
  const missing = keyringMissing();
  if (missing) return { ok: false, reason: missing };

  const home = mkdtempSync(join(tmpdir(), 'authctl-keyring-'));
  const runtime = join(home, 'run');
  mkdirSync(runtime, { mode: 0o700 });
  const baseEnv = { PATH: '/usr/sbin:/usr/bin:/sbin:/bin', HOME: home, XDG_RUNTIME_DIR: runtime, XDG_DATA_HOME: join(home, 'data') };
  const configFile = join(home, 'bus.conf');
  writeFileSync(configFile, busConfig(tmpdir()));
  const logFile = join(home, 'gnome-keyring.log');
  const busLog = join(home, 'dbus-daemon.log');

  let stopping = false;
  const notices: string[] = [];
  const loud = (line: string) => {
    notices.push(line);
    process.stderr.write(`\n!!! ${line}\n\n`);
  };
  const busErr = openSync(busLog, 'a');
  const bus = spawn('dbus-daemon', [`--config-file=${configFile}`, '--nofork', '--print-address=1'], { env: baseEnv, stdio: ['ignore', 'pipe', busErr] });
  closeSync(busErr);
  const busAddress = await readLine(bus);
  const env = { ...baseEnv, DBUS_SESSION_BUS_ADDRESS: busAddress };
  bus.once('exit', (code, signal) => {
    if (stopping) return;
    loud(`test keyring: the private dbus-daemon (pid ${bus.pid}) exited (${signal ?? `code ${code}`}) while tests were running; every keychain call on ${busAddress} fails from now on; last lines of ${busLog}: ${JSON.stringify(tail(busLog, 5))}`);
  });

  /** Starts a daemon and waits for its name; without the wait a first client can race it (keychain.md). */
  const launch = async (): Promise<ChildProcess> => {
    const log = openSync(logFile, 'a');
    // Its own process group: a signal sent to the test run's group (a terminal's SIGINT or SIGHUP,
    // a killpg) no longer takes the shared daemon down (SIGINT kills it, SIGHUP/SIGTERM make it
    // quit). It still ends with the bus, which stays in the run's group.
    const child = spawn('gnome-keyring-daemon', ['--foreground', '--unlock', '--components=secrets'], { env, stdio: ['pipe', log, log], detached: true });
    closeSync(log);
    child.stdin!.on('error', () => {}); // a daemon that dies at once must not crash the run with EPIPE
    child.stdin!.end(PASSWORD);
    try {
      // Asynchronous: the password is still being written to the daemon's stdin by this event loop.
      await promisify(execFile)('gdbus', ['wait', '--session', '--timeout', '10', 'org.freedesktop.secrets'], { env });
    } catch (error) {
      child.kill('SIGKILL');
      throw new Error(`gnome-keyring did not appear on the bus: ${(error as Error).message}; its log: ${JSON.stringify(tail(logFile, 5))}`);
    }
    return child;
  };

  let daemon: ChildProcess;
  try {
    daemon = await launch();
  } catch (error) {
    stopping = true;
    bus.kill('SIGKILL');
    throw error;
  }

  let restarts = 0;
  let gaveUp = false;
  let restarting: Promise<void> | undefined;
  const watch = (child: ChildProcess) => {
    child.once('exit', (code, signal) => {
      if (stopping || child !== daemon) return;
      const busGone = !alive(bus);
      const giveUp = busGone || restarts >= MAX_RESTARTS;
      loud(
        `test keyring: gnome-keyring-daemon (pid ${child.pid}) died while tests were running (${signal ? `signal ${signal}` : `exit code ${code}`}); ` +
          `${giveUp ? `NOT restarting it (${busGone ? 'its bus is gone' : `${restarts} restarts already`})` : `restarting it (restart ${restarts + 1})`}; ` +
          `last lines of ${logFile}: ${JSON.stringify(tail(logFile, 8))}`,
      );
      if (giveUp) {
        gaveUp = true;
        return;
      }
      restarts++;
      restarting = launch()
        .then((fresh) => {
          if (stopping) {
            fresh.kill('SIGTERM');
            return;
          }
          daemon = fresh;
          watch(fresh);
        })
        .catch((error: Error) => {
          gaveUp = true;
          loud(`test keyring: could not restart gnome-keyring-daemon: ${error.message}`);
        })
        .finally(() => (restarting = undefined));
    });
  };
  watch(daemon);

  const keyring: KeyringHarness = {
    busAddress,
    home,
    logFile,
    get keyringPid() {
      return daemon.pid!;
    },
    notices,
    get restarts() {
      return restarts;
    },
    async ready() {
      // A daemon just killed may not have been reaped yet (no 'exit' event, no restart under way):
      // it is a zombie until then, so look at its state rather than trusting the ChildProcess.
      const deadline = Date.now() + 15_000;
      for (;;) {
        if (restarting) await restarting;
        else if (!alive(daemon)) {
          if (gaveUp) throw new Error(`gnome-keyring-daemon died and was not restarted; see ${logFile}`);
          if (Date.now() > deadline) throw new Error(`no gnome-keyring-daemon came back within 15 s; see ${logFile}`);
          await new Promise((resolve) => setTimeout(resolve, 10));
        } else return;
      }
    },
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
      stopping = true;
      await restarting;
      daemon.kill('SIGCONT');
      daemon.kill('SIGTERM');
      bus.kill('SIGTERM');
      await Promise.all([exited(daemon), exited(bus)]);
      rmSync(home, { recursive: true, force: true });
    },
  };
  return { ok: true, keyring };
}
