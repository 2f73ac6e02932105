/**
 * A real, certified OAuth 2.0 authorization server (oidc-provider v9) on 127.0.0.1, for end-to-end
 * tests of authctl's client-credentials login (RFC 6749 §4.4, HTTP Basic as §2.3.1 requires every server to accept).
 *
 * Each call starts an isolated provider (own port, own in-memory store, own keys), so parallel
 * tests never share state.
 */
import { generateKeyPairSync, randomBytes, type JsonWebKey } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Adapter, AdapterPayload, ClientMetadata, Configuration, Provider } from 'oidc-provider';

export interface OAuth2Client {
  id: string;
  secret: string;
}

export interface OAuth2Harness {
  issuer: string;
  tokenUrl: string;
  client: OAuth2Client;
  otherClient: OAuth2Client;
  tokensIssued(): number;
  stop(): Promise<void>;
}

type ProviderClass = typeof Provider;

let providerClass: Promise<ProviderClass> | undefined;

/**
 * oidc-provider 9 prints "Unsupported runtime" on Node below 22. authctl targets Node >=20.19 and
 * uses only the token endpoint, which works there (the interop suite proves it), so the warning is
 * left visible rather than hidden.
 */
async function loadProvider(): Promise<ProviderClass> {
  providerClass ??= import('oidc-provider').then((module) => module.Provider);
  return providerClass;
}

export interface StoredPayload {
  payload: AdapterPayload;
  expiresAt: number;
}

/**
 * A per-harness store, shared by every oidc-provider harness. Passing no adapter makes
 * oidc-provider use its own in-memory adapter, which prints a "development-only" warning and keeps
 * one module-global store shared by every provider in the process; this one is private to one
 * server. `keptPastExpiryMs` lets entries outlive their expiry, for a provider that must judge
 * `exp` itself (RFC 8628's `expired_token` rather than `invalid_grant`).
 */
export function memoryAdapterFactory(store = new Map<string, StoredPayload>(), keptPastExpiryMs = 0): (name: string) => Adapter {
  const live = (key: string): AdapterPayload | undefined => {
    const entry = store.get(key);
    if (entry === undefined) return undefined;
    if (entry.expiresAt <= Date.now()) {
      store.delete(key);
      return undefined;
    }
    return entry.payload;
  };
  const findBy = (name: string, field: 'userCode' | 'uid', value: string): AdapterPayload | undefined => {
    for (const [key] of store) {
      const payload = key.startsWith(`${name}:`) ? live(key) : undefined;
      if (payload?.[field] === value) return payload;
    }
    return undefined;
  };

  return (name) => ({
    async upsert(id, payload, expiresIn) {
      const expiresAt = expiresIn === undefined ? Infinity : Date.now() + expiresIn * 1000 + keptPastExpiryMs;
      store.set(`${name}:${id}`, { payload: structuredClone(payload), expiresAt });
    },
    async find(id) {
      return live(`${name}:${id}`);
    },
    async findByUserCode(userCode) {
      return findBy(name, 'userCode', userCode);
    },
    async findByUid(uid) {
      return findBy(name, 'uid', uid);
    },
    async consume(id) {
      const payload = live(`${name}:${id}`);
      if (payload !== undefined) payload.consumed = Math.floor(Date.now() / 1000);
    },
    async destroy(id) {
      store.delete(`${name}:${id}`);
    },
    async revokeByGrantId(grantId) {
      for (const [key, { payload }] of store) {
        if (payload.grantId === grantId) store.delete(key);
      }
    },
  });
}

/**
 * Own signing key, so the provider does not fall back to (and warn about) its built-in dev keys.
 * EC rather than RSA: generating an RSA-2048 key costs ~190 ms per server start.
 */
function signingJwks(): { keys: JsonWebKey[] } {
  const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  return { keys: [{ ...privateKey.export({ format: 'jwk' }), use: 'sig', alg: 'ES256' }] };
}

function newClient(label: string): OAuth2Client {
  return { id: `authctl-${label}-${randomBytes(4).toString('hex')}`, secret: randomBytes(24).toString('base64url') };
}

function clientMetadata({ id, secret }: OAuth2Client): ClientMetadata {
  return {
    client_id: id,
    client_secret: secret,
    token_endpoint_auth_method: 'client_secret_basic',
    grant_types: ['client_credentials'],
    response_types: [],
    redirect_uris: [],
  };
}

/**
 * Without `resource`, v9 issues an opaque access token for client credentials (no resource
 * indicator or scope needed), answering `{access_token, expires_in, token_type: 'Bearer'}`.
 * devInteractions (the login/consent UI) is on by default and warns on start; it is irrelevant
 * to this grant, so it is off.
 */
function configuration(clients: OAuth2Client[]): Configuration {
  return {
    adapter: memoryAdapterFactory(),
    clients: clients.map(clientMetadata),
    jwks: signingJwks(),
    // Clients default to RS256 ID tokens, which this keystore cannot sign; the provider would reject
    // every client at its first request with invalid_client_metadata. No ID token is ever issued here.
    clientDefaults: { id_token_signed_response_alg: 'ES256' },
    // Explicit (= the default, 10 min) so the provider does not print a notice about its default.
    ttl: { ClientCredentials: 600 },
    features: {
      clientCredentials: { enabled: true },
      devInteractions: { enabled: false },
    },
  };
}

function listen(server: Server): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      server.off('error', reject);
      resolve((server.address() as AddressInfo).port);
    });
  });
}

function close(server: Server): Promise<void> {
  return new Promise((resolve, reject) => {
    server.close((err) => (err ? reject(err) : resolve()));
    // fetch keeps idle connections open; without this close() waits for their keep-alive timeout.
    server.closeAllConnections();
  });
}

async function discoveredTokenUrl(issuer: string): Promise<string> {
  const res = await fetch(`${issuer}/.well-known/openid-configuration`);
  if (!res.ok) throw new Error(`oidc-provider discovery answered ${res.status}`);
  const { token_endpoint: tokenEndpoint } = (await res.json()) as { token_endpoint?: unknown };
  if (typeof tokenEndpoint !== 'string') throw new Error('oidc-provider discovery has no token_endpoint');
  return tokenEndpoint;
}

export async function startOAuth2Server(): Promise<OAuth2Harness> {
  const Provider = await loadProvider();
  // The issuer must contain the port, which is only known once listening; requests that arrive
  // before the provider is attached cannot happen because nobody knows the port yet.
  const server = createServer();
  const port = await listen(server);
  const issuer = `http://127.0.0.1:${port}`;
  const client = newClient('client');
  const otherClient = newClient('other');

  const provider = new Provider(issuer, configuration([client, otherClient]));
  let issued = 0;
  provider.on('grant.success', () => {
    issued += 1;
  });
  // 5xx are otherwise only visible with DEBUG=oidc-provider:*; a test should see them.
  provider.on('server_error', (ctx, err) => {
    console.error(`oauth2 test server: ${ctx.method} ${ctx.path} failed:`, err);
  });
  server.on('request', provider.callback());

  try {
    const tokenUrl = await discoveredTokenUrl(issuer);
    let stopped: Promise<void> | undefined;
    const stop = (): Promise<void> => (stopped ??= close(server));
    return { issuer, tokenUrl, client, otherClient, tokensIssued: () => issued, stop };
  } catch (err) {
    await close(server);
    throw err;
  }
}
