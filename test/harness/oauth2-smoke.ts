/**
 * Smoke check of the oidc-provider harness: `npx tsx test/harness/oauth2-smoke.ts`.
 * Exits non-zero if any expectation fails.
 */
import { strict as assert } from 'node:assert';
import { connect } from 'node:net';
import { startOAuth2Server, type OAuth2Harness } from './oauth2-server.js';

interface Answer {
  status: number;
  body: Record<string, unknown>;
}

async function requestToken(h: OAuth2Harness, clientId: string, clientSecret: string): Promise<Answer> {
  const res = await fetch(h.tokenUrl, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json' },
    body: new URLSearchParams({ grant_type: 'client_credentials', client_id: clientId, client_secret: clientSecret }),
  });
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}

function redacted({ status, body }: Answer): string {
  const token = body.access_token;
  const shown = typeof token === 'string' ? { ...body, access_token: `<${token.length} chars>` } : body;
  return `${status} ${JSON.stringify(shown)}`;
}

function portIsClosed(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1');
    socket.once('connect', () => {
      socket.destroy();
      resolve(false);
    });
    socket.once('error', () => resolve(true));
  });
}

async function timedStart(label: string): Promise<OAuth2Harness> {
  const started = performance.now();
  const h = await startOAuth2Server();
  console.log(`${label} start: ${Math.round(performance.now() - started)} ms, issuer ${h.issuer}, token URL ${h.tokenUrl}`);
  return h;
}

/** A second server in the same process: warm start time, and its clients are its own. */
async function checkSecondServer(first: OAuth2Harness): Promise<void> {
  const second = await timedStart('warm');
  try {
    const foreign = await requestToken(second, first.client.id, first.client.secret);
    assert.equal(foreign.status, 401);
    assert.equal(first.tokensIssued(), 2);
  } finally {
    await second.stop();
  }
}

async function main(): Promise<void> {
  const h = await timedStart('cold (includes loading oidc-provider)');

  const good = await requestToken(h, h.client.id, h.client.secret);
  console.log('(a) good client:   ', redacted(good));
  assert.equal(good.status, 200);
  assert.equal(typeof good.body.access_token, 'string');
  assert.equal(good.body.token_type, 'Bearer');
  assert.equal(typeof good.body.expires_in, 'number');

  const other = await requestToken(h, h.otherClient.id, h.otherClient.secret);
  assert.equal(other.status, 200);
  assert.notEqual(other.body.access_token, good.body.access_token);

  const wrongSecret = await requestToken(h, h.client.id, `${h.client.secret}x`);
  console.log('(b) wrong secret:  ', redacted(wrongSecret));
  assert.equal(wrongSecret.body.error, 'invalid_client');

  const unknown = await requestToken(h, 'no-such-client', 'whatever');
  console.log('(c) unknown client:', redacted(unknown));
  assert.equal(unknown.body.error, 'invalid_client');

  console.log(`(d) tokensIssued() = ${h.tokensIssued()} (2 successes, 2 failures)`);
  assert.equal(h.tokensIssued(), 2);

  await checkSecondServer(h);

  const port = Number(new URL(h.issuer).port);
  await h.stop();
  assert.ok(await portIsClosed(port), `port ${port} still accepts connections after stop()`);
  console.log(`stopped; port ${port} closed`);
}

await main();
