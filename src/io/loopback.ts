import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { LocalError } from '../core/errors.js';

/**
 * The loopback redirect of a native app's sign-in (RFC 8252 §7.3): `http://127.0.0.1:{free
 * port}/callback`, listening on loopback only, for one redirect. Any other path (a browser asks
 * for /favicon.ico) is answered 404 and the wait goes on.
 */

export const CALLBACK_PATH = '/callback';

export interface LoopbackRedirect {
  redirectUri: string;
  /** The first request to the callback path, as a full URL (query included). */
  redirect: Promise<URL>;
  close(): Promise<void>;
}

const PAGE = (title: string, text: string) =>
  `<!doctype html><html><head><meta charset="utf-8"><title>${title}</title></head><body style="font-family:sans-serif;margin:3em"><h1>${title}</h1><p>${text}</p></body></html>`;

export async function listenForRedirect(): Promise<LoopbackRedirect> {
  let deliver!: (url: URL) => void;
  const redirect = new Promise<URL>((resolve) => (deliver = resolve));
  let done = false;
  const server: Server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    if (req.method !== 'GET' || url.pathname !== CALLBACK_PATH || done) {
      res.writeHead(404, { 'content-type': 'text/plain; charset=utf-8', connection: 'close' }).end('not found\n');
      return;
    }
    done = true;
    const failed = url.searchParams.has('error');
    res
      .writeHead(failed ? 400 : 200, { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store', connection: 'close' })
      .end(failed ? PAGE('Sign-in failed', 'authctl got an error from the provider; see the terminal.') : PAGE('Back to the terminal', 'authctl has the answer and is checking it; the terminal says whether the sign-in succeeded. You can close this tab.'));
    const address = server.address() as AddressInfo;
    deliver(new URL(`http://127.0.0.1:${address.port}${url.pathname}${url.search}`));
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', (error) => reject(new LocalError(`cannot listen on 127.0.0.1 for the sign-in redirect: ${error.message}`, { hint: 'use --grant device', cause: error })));
    server.listen(0, '127.0.0.1', resolve);
  });
  const { port } = server.address() as AddressInfo;
  return {
    redirectUri: `http://127.0.0.1:${port}${CALLBACK_PATH}`,
    redirect,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
