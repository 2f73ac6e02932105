/** Starts the test IAM server in a child process and drives it over HTTP. */
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { LoggedRequest, RealmInfo, RealmOptions } from './iam-server.js';

export interface RemoteIam {
  url: string;
  createRealm(options?: RealmOptions): Promise<RealmInfo>;
  configureRealm(realm: RealmInfo, options: RealmOptions): Promise<void>;
  requests(realm: RealmInfo): Promise<LoggedRequest[]>;
  stop(): Promise<void>;
}

async function post(url: string, body: unknown): Promise<Response> {
  const response = await fetch(url, { method: 'POST', body: JSON.stringify(body) });
  if (response.status >= 400) throw new Error(`${url}: ${response.status}`);
  return response;
}

export async function startRemoteIam(): Promise<RemoteIam> {
  const script = fileURLToPath(new URL('./iam-server-cli.ts', import.meta.url));
  const tsx = fileURLToPath(new URL('../../node_modules/tsx/dist/cli.mjs', import.meta.url));
  const child = spawn(process.execPath, [tsx, script], { stdio: ['pipe', 'pipe', 'inherit'] });
  const url = await new Promise<string>((resolve, reject) => {
    let text = '';
    child.stdout.on('data', (chunk: Buffer) => {
      text += chunk.toString();
      const line = text.split('\n')[0];
      if (text.includes('\n') && line) resolve((JSON.parse(line) as { url: string }).url);
    });
    child.once('exit', (code) => reject(new Error(`the test IAM server exited with ${code}`)));
  });
  return {
    url,
    createRealm: async (options = {}) => (await (await post(`${url}/_realms`, options)).json()) as RealmInfo,
    configureRealm: async (realm, options) => void (await post(`${realm.base}/_options`, options)),
    requests: async (realm) => (await (await fetch(`${realm.base}/_requests`)).json()) as LoggedRequest[],
    stop: () =>
      new Promise<void>((resolve) => {
        child.once('exit', () => resolve());
        child.stdin.end();
      }),
  };
}
