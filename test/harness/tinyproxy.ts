/** A real HTTP proxy (Debian's tinyproxy) on 127.0.0.1, with its log readable by the tests. */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface ProxyHarness {
  url: string;
  /** The proxy's log so far: each CONNECT names its target. */
  log(): string;
  stop(): Promise<void>;
}

export const TINYPROXY = '/usr/bin/tinyproxy';

export function tinyproxyMissing(): string | undefined {
  return existsSync(TINYPROXY) ? undefined : `no HTTP proxy to test through (${TINYPROXY} not found): apt-get install -y --no-install-recommends tinyproxy`;
}

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

export async function startTinyproxy(): Promise<ProxyHarness> {
  const dir = mkdtempSync(join(tmpdir(), 'authctl-proxy-'));
  const port = await freePort();
  const logFile = join(dir, 'tinyproxy.log');
  // No ConnectPort line: CONNECT is allowed to every port (the IAM test servers use random ones).
  writeFileSync(join(dir, 'tinyproxy.conf'), [`Port ${port}`, 'Listen 127.0.0.1', 'Allow 127.0.0.1', `LogFile "${logFile}"`, 'LogLevel Connect', 'MaxClients 50', 'Timeout 30', ''].join('\n'));
  const child: ChildProcess = spawn(TINYPROXY, ['-d', '-c', join(dir, 'tinyproxy.conf')], { stdio: 'ignore' });
  for (let i = 0; i < 100; i++) {
    const ready = await new Promise<boolean>((resolve) => {
      const socket = createServer().listen(port, '127.0.0.1');
      socket.once('listening', () => socket.close(() => resolve(false)));
      socket.once('error', () => resolve(true)); // the port is taken: tinyproxy listens
    });
    if (ready) break;
    if (child.exitCode !== null) throw new Error(`tinyproxy exited with ${child.exitCode}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  return {
    url: `http://127.0.0.1:${port}`,
    log: () => (existsSync(logFile) ? readFileSync(logFile, 'utf8') : ''),
    stop: async () => {
      child.kill('SIGTERM');
      await new Promise((resolve) => (child.exitCode !== null ? resolve(undefined) : child.once('exit', resolve)));
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
