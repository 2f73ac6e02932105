import { describe, expect, it, vi } from 'vitest';
import type { AuthIO } from '../../src/auth/method.js';
import { keystoneOAuth2 } from '../../src/auth/methods/keystone-oauth2.js';
import { oauth2ClientCredentials } from '../../src/auth/methods/oauth2-client-credentials.js';
import { providerTokens } from '../../src/auth/oidc-sign-in.js';
import type { HttpClient } from '../../src/iam/http.js';
import { fingerprint, SecretRegistry } from '../../src/io/redact.js';
import { oneLine } from '../../src/iam/response.js';

describe('SecretRegistry', () => {
  const stand = (secret: string) => `<${fingerprint(secret)}>`;

  it('redacts short secrets too (from 4 characters), every occurrence', () => {
    const secrets = new SecretRegistry();
    secrets.add('pw8chars');
    expect(secrets.redact('bad password pw8chars, pw8chars again')).toBe(`bad password ${stand('pw8chars')}, ${stand('pw8chars')} again`);
    secrets.add('abc');
    expect(secrets.redact('abc')).toBe('abc');
  });

  it.each([
    ['JSON-escaped', 'Pw"quoted\\slash', (s: string) => JSON.stringify(s).slice(1, -1)],
    ['form-encoded', 'Cs+Zm9v/bar=&x y', (s: string) => new URLSearchParams({ s }).toString().slice(2)],
    ['percent-encoded', 'Cs+Zm9v/bar=&x y', encodeURIComponent],
    ['whitespace-folded', '  leading and  doubled\tspaces ', (s: string) => oneLine(s)],
  ])('redacts a secret echoed %s', (_, secret, transform) => {
    const secrets = new SecretRegistry();
    secrets.add(secret);
    const echoed = `server said: ${transform(secret)} is wrong`;
    expect(echoed).not.toContain(secret);
    expect(secrets.redact(echoed)).toBe(`server said: ${stand(secret)} is wrong`);
  });

  it('redacts the longest form first, so no part of a secret is left around another', () => {
    const secrets = new SecretRegistry();
    secrets.add('abcd');
    secrets.add('abcdefgh');
    expect(secrets.redact('abcdefgh')).toBe(stand('abcdefgh'));
  });

  it('redacts the first part of a secret that a shortened server message cut off', () => {
    const secrets = new SecretRegistry();
    const jwt = `eyJhbGciOiJSUzI1NiJ9.${'a'.repeat(400)}.sig`;
    secrets.add(jwt);
    const message = oneLine(`Invalid token ${jwt}`);
    expect(message.endsWith('…')).toBe(true);
    const redacted = secrets.redact(`authctl: ${message}`);
    expect(redacted).toBe(`authctl: Invalid token ${stand(jwt)}…`);
    expect(redacted).not.toContain('eyJhbGci');
    // An ordinary shortened word that merely shares a few letters with a secret stays.
    expect(secrets.redact('a message about eyJhb…')).toBe('a message about eyJhb…');
  });
});

describe('secrets echoed in other encodings', () => {
  const stand = (secret: string) => `<${fingerprint(secret)}>`;

  it.each([
    ['lower-case percent-encoded', 'pa  ss\twd "é\\/<', 'pa%20%20ss%09wd%20%22%c3%a9%5c%2f%3c'],
    ['form-encoded, lower case', 'pa  ss\twd "é\\/<', 'pa++ss%09wd+%22%c3%a9%5c%2f%3c'],
    ['with + for spaces, the rest as it is', 'sec ret /=&x', 'sec+ret+/=&x'],
    ['with %20 for spaces, the rest as it is (encodeURI)', 'sec ret /=&x', 'sec%20ret%20/=&x'],
    ['percent-encoded strictly (RFC 3986: !\'()* too)', "it's (a) secret!*", 'it%27s%20%28a%29%20secret%21%2A'],
    ['doubly JSON-escaped', 'Pw"quoted\\slash\nline', JSON.stringify(JSON.stringify('Pw"quoted\\slash\nline')).slice(3, -3)],
    ['JSON-escaped, non-ASCII as \\u (Python)', 'mot-de-passé-été', 'mot-de-pass\\u00e9-\\u00e9t\\u00e9'],
    ['JSON-escaped, <>& as \\u (Go)', 'a<b>&c"d', 'a\\u003cb\\u003e\\u0026c\\"d'],
    ['JSON-escaped, / as \\/ (PHP)', 'pa/ss/wörd', 'pa\\/ss\\/w\\u00f6rd'],
    ['in base64', 'Sup3r$ecret!pw', 'U3VwM3IkZWNyZXQhcHc='],
    ['in base64 without its padding', 'Sup3r$ecret!pw', 'U3VwM3IkZWNyZXQhcHc'],
    ['in URL-safe base64', 'a>?b>?c', 'YT4_Yj4_Yw'],
    ['in hex', 'Sup3r$ecret!pw', '5375703372246563726574217077'],
    ['in upper-case hex', 'Sup3r$ecret!pw', '5375703372246563726574217077'.toUpperCase()],
  ])('redacts a secret echoed %s', (_, secret, echo) => {
    const secrets = new SecretRegistry();
    secrets.add(secret);
    const echoed = `server said: ${echo} is wrong`;
    expect(echoed).not.toContain(secret);
    expect(secrets.redact(echoed)).toBe(`server said: ${stand(secret)} is wrong`);
  });

  it('redacts a whole doubly JSON-escaped body that quotes the secret', () => {
    const secret = 'Pw"q\\s';
    const secrets = new SecretRegistry();
    secrets.add(secret);
    const body = JSON.stringify(JSON.stringify({ password: secret })).slice(1, -1);
    expect(secrets.redact(body)).toBe(`{\\"password\\":\\"${stand(secret)}\\"}`);
  });

  it('keeps the rule for secrets spelt like words: a value goes, a word of a sentence stays', () => {
    const secrets = new SecretRegistry();
    secrets.add('password');
    expect(secrets.redact('check the user name, domain, password and scope')).toBe('check the user name, domain, password and scope');
    expect(secrets.redact("Invalid password 'password'")).toBe(`Invalid password '${stand('password')}'`);
  });
});

describe('the HTTP Basic credentials authctl sends', () => {
  const stand = (secret: string) => `<${fingerprint(secret)}>`;
  const secret = 'cs-Zm9v bar/+=é';
  /** A token endpoint that refuses the client, echoing the Authorization header it got. */
  const echoing = (seen: string[]): HttpClient => ({
    send: async (request) => {
      seen.push(request.headers?.authorization ?? '');
      return { status: 401, headers: { 'content-type': 'application/json' }, body: JSON.stringify({ error: 'invalid_client', error_description: `bad Authorization: ${request.headers?.authorization}` }) };
    },
  });

  it.each([
    ['OAuth2 client credentials', oauth2ClientCredentials, { kind: 'oauth2', tokenUrl: 'https://idp.example.com/oauth2/token', clientId: 'app-1', clientAuth: 'basic' }],
    ['Keystone OAuth2', keystoneOAuth2, { kind: 'keystone-oauth2', tokenUrl: 'https://iam.example.com/v3/OS-OAUTH2/token', clientId: 'app-1', clientAuth: 'basic' }],
  ] as const)('%s: the base64 of id:secret is a secret of the run', async (_, method, target) => {
    const secrets = new SecretRegistry();
    secrets.add(secret);
    const seen: string[] = [];
    const io = { http: echoing(seen), now: () => 0, conceal: (value: string | undefined) => secrets.add(value) } as unknown as AuthIO;
    const error = await method.authenticate(io, target as never, secret).then(
      () => undefined,
      (caught: unknown) => caught as Error,
    );
    const credentials = seen[0]!.replace(/^Basic /, '');
    expect(credentials).toMatch(/^YXBwLTE6/);
    expect(error?.message).toContain(credentials);
    const shown = secrets.redact(error!.message);
    expect(shown).not.toContain(credentials);
    expect(shown).toContain(`Basic ${stand(credentials)}`);
  });

  it('OpenID Connect client credentials (oauth4webapi builds the header): the base64 of id:secret is a secret of the run', async () => {
    const secrets = new SecretRegistry();
    secrets.add(secret);
    const seen: string[] = [];
    const issuer = 'https://idp.example.com';
    const http: HttpClient = {
      send: async (request) => {
        if (request.url.endsWith('/.well-known/openid-configuration')) {
          return { status: 200, headers: { 'content-type': 'application/json' }, body: JSON.stringify({ issuer, token_endpoint: `${issuer}/token` }) };
        }
        return echoing(seen).send(request);
      },
    };
    const io = { http, now: () => Date.now(), conceal: (value: string | undefined) => secrets.add(value) } as unknown as AuthIO;
    const signIn = { issuer, client: { clientId: "app-1.(x)*'~", clientAuth: 'basic' as const }, grant: 'client-credentials' as const, scope: 'openid', loginTimeoutMs: 1000, noBrowser: true };
    const error = await providerTokens(io, signIn, secret).then(
      () => undefined,
      (caught: unknown) => caught as Error,
    );
    const credentials = seen[0]!.replace(/^Basic /, '');
    expect(credentials.length).toBeGreaterThan(8);
    expect(error?.message).toContain(credentials);
    expect(secrets.redact(error!.message)).not.toContain(credentials);
  });
});

describe('fingerprints', () => {
  it('tell two secrets apart, the same secret alike, and are no unsalted hash of the secret', async () => {
    const { createHash } = await import('node:crypto');
    const one = fingerprint('hunter2hunter2');
    expect(one).toMatch(/^hmac:[0-9a-f]{12}$/);
    expect(fingerprint('hunter2hunter2')).toBe(one);
    expect(fingerprint('hunter3hunter3')).not.toBe(one);
    expect(one).not.toContain(createHash('sha256').update('hunter2hunter2').digest('hex').slice(0, 12));
  });

  it('are keyed afresh in each process: the same secret gets another fingerprint in another run', async () => {
    vi.resetModules();
    const again = await import('../../src/io/redact.js');
    expect(again.fingerprint).not.toBe(fingerprint);
    expect(again.fingerprint('hunter2hunter2')).toMatch(/^hmac:[0-9a-f]{12}$/);
    expect(again.fingerprint('hunter2hunter2')).not.toBe(fingerprint('hunter2hunter2'));
  });

  it('load node:crypto only when one is made: nothing to redact, nothing loaded (the cached path)', async () => {
    vi.resetModules();
    const required: string[] = [];
    vi.doMock('../../src/util/cjs.js', async () => {
      const { createRequire } = await import('node:module');
      const real = createRequire(import.meta.url);
      return { requireDependency: (name: string) => (required.push(name), real(name)) };
    });
    try {
      const fresh = await import('../../src/io/redact.js');
      const secrets = new fresh.SecretRegistry();
      secrets.add('a-secret-value');
      expect(secrets.redact('nothing to see here')).toBe('nothing to see here');
      expect(required).toEqual([]);
      expect(secrets.redact('here: a-secret-value')).toMatch(/^here: <hmac:[0-9a-f]{12}>$/);
      expect(required).toEqual(['node:crypto']);
      fresh.fingerprint('another');
      expect([...new Set(required)]).toEqual(['node:crypto']); // require's own cache answers again
    } finally {
      vi.doUnmock('../../src/util/cjs.js');
      vi.resetModules();
    }
  });
});
