/**
 * Issue 16: a token IAM no longer accepts is dropped from the cache (exit 3, "revoked or expired
 * at IAM", the command that logs in again); waiting for IAM has one budget per command, progress
 * lines at a terminal only, the elapsed time in the final message, and a short budget for the
 * renewal of a token that can still be served.
 */
import { describe, expect, it } from 'vitest';
import { run } from '../../src/main.js';
import { NetworkError, retryingClient, type HttpOptions, type Transport } from '../../src/iam/http.js';
import type { Factory } from '../../src/session/factory.js';
import { NOW, testFactory, type TestHarness } from '../helpers/factory.js';
import { AUTH_URL, issued, jsonBody, keystoneError, TOKENS_URL } from '../helpers/iam-responses.js';
import { fingerprint } from '../../src/io/redact.js';
import type { Responder } from '../helpers/http-stub.js';
import { entries, HOUR, loggedIn, MINUTE, OS_ENV, PASSWORD } from '../helpers/steps.js';

const TOKEN = 'gAAAA-first';
const ORIGIN = 'https://iam.example.com';
const UNAUTHENTICATED = 'The request you have made requires authentication.';
const revokedLine = (profile: string, status: number) => `authctl: the token of profile ${profile} is revoked or expired at IAM (${status}), so it was removed from the cache\n`;

describe('a token revoked at IAM', () => {
  it('token check, 404 for the cached token: exit 3, the token is dropped, and the hint logs in again', async () => {
    const t = testFactory();
    await loggedIn(t, TOKEN);
    t.http.on('GET', TOKENS_URL, keystoneError(404, `Could not find token: ${TOKEN}.`));
    expect(await run(['token', 'check'], t.withEnv({ ...OS_ENV }))).toBe(3);
    expect(t.stdout()).toBe('valid:   no (revoked or expired at IAM (404))\nchecked: at IAM\n');
    expect(t.stderr()).toBe(`${revokedLine('default', 404)}hint: run \`authctl login\`\n`);
    expect(entries(t)).toEqual({});
  });

  it("token check, 401 for the cached token as the caller (a real Keystone's answer): the same, not IAM's words nested in brackets", async () => {
    const t = testFactory();
    await loggedIn(t, TOKEN);
    t.http.on('GET', TOKENS_URL, keystoneError(401, UNAUTHENTICATED));
    expect(await run(['token', 'check'], t.withEnv({ ...OS_ENV }))).toBe(3);
    expect(t.stdout()).toBe('valid:   no (revoked or expired at IAM (401))\nchecked: at IAM\n');
    expect(t.stderr()).toBe(`${revokedLine('default', 401)}hint: run \`authctl login\`\n`);
    expect(entries(t)).toEqual({});
  });

  it('then token get prints no token: exit 3, and nothing on stdout', async () => {
    const t = testFactory();
    await loggedIn(t, TOKEN);
    t.http.on('GET', TOKENS_URL, keystoneError(401, UNAUTHENTICATED));
    expect(await run(['token', 'check'], t.withEnv({ ...OS_ENV }))).toBe(3);
    t.clearOutput();
    expect(await run(['token', 'get'], t.withEnv({ ...OS_ENV }))).toBe(3);
    expect(t.stdout()).toBe('');
    expect(t.stderr()).toBe(
      'authctl: no token is cached for profile default, and there is no saved secret to renew it\nhint: run `authctl login` (to renew silently: OS_PASSWORD or `authctl login --save-password`)\n',
    );
  });

  it('--quiet (HEAD 404): silence and exit 3, and the token is dropped all the same', async () => {
    const t = testFactory();
    await loggedIn(t, TOKEN);
    t.http.on('HEAD', TOKENS_URL, { status: 404 });
    expect(await run(['token', 'check', '--quiet'], t.withEnv({ ...OS_ENV }))).toBe(3);
    expect(t.stdout() + t.stderr()).toBe('');
    expect(entries(t)).toEqual({});
  });

  it('--json: the report says why, then the same error', async () => {
    const t = testFactory();
    await loggedIn(t, TOKEN);
    t.http.on('GET', TOKENS_URL, keystoneError(404, `Could not find token: ${TOKEN}.`));
    expect(await run(['token', 'check', '--json'], t.withEnv({ ...OS_ENV }))).toBe(3);
    expect(JSON.parse(t.stdout())).toEqual({ valid: false, checked: 'iam', profile: 'default', reason: 'revoked or expired at IAM (404)' });
    expect(t.stderr()).toBe(`${revokedLine('default', 404)}hint: run \`authctl login\`\n`);
  });

  it('a saved profile: the hint names it, and repeats the flags `login` would not find (--store, --cacert), never a secret', async () => {
    const t = testFactory();
    await loggedIn(t, TOKEN, ['--profile', 'work']);
    t.http.on('GET', TOKENS_URL, keystoneError(404, 'Could not find token.'));
    const cacert = `${t.home}/ca.pem`;
    const { writeFileSync } = await import('node:fs');
    writeFileSync(cacert, '');
    expect(await run(['--profile', 'work', '--store', 'file', '--cacert', cacert, 'token', 'check'], t.withEnv({ ...OS_ENV, OS_PASSWORD: PASSWORD }))).toBe(3);
    expect(t.stderr()).toBe(`${revokedLine('work', 404)}hint: run \`authctl login --profile work --store file --cacert ${cacert}\`\n`);
    expect(t.stderr()).not.toContain(PASSWORD);
    expect(entries(t)).toEqual({});
  });

  it('a profile `authctl login` alone would not pick (`profile use` chose another): the hint names it', async () => {
    const t = testFactory();
    await loggedIn(t, TOKEN);
    t.http.on('POST', TOKENS_URL, issued({ token: 'gAAAA-other', issuedAt: NOW, expiresAt: NOW + HOUR }));
    expect(await run(['--profile', 'other', 'login'], t.withEnv({ ...OS_ENV, OS_PASSWORD: PASSWORD }))).toBe(0);
    expect(await run(['profile', 'use', 'other'], t.withEnv({}))).toBe(0);
    t.clearOutput();
    t.http.on('GET', TOKENS_URL, keystoneError(404, 'Could not find token.'));
    expect(await run(['--profile', 'default', 'token', 'check'], t.withEnv({ ...OS_ENV }))).toBe(3);
    expect(t.stderr()).toBe(`${revokedLine('default', 404)}hint: run \`authctl login --profile default\`\n`);
    expect(Object.keys(entries(t))).toEqual(['other:token']);
  });

  it('a 403 for the own token is no answer about it: exit 4, the token stays', async () => {
    const t = testFactory();
    await loggedIn(t, TOKEN);
    t.http.on('GET', TOKENS_URL, keystoneError(403, 'You are not authorized to perform the requested action: identity:validate_token.'));
    expect(await run(['token', 'check'], t.withEnv({ ...OS_ENV }))).toBe(4);
    expect(t.stderr()).toMatch(/^authctl: checking the token at https:\/\/iam\.example\.com\/v3 was rejected \(403\)/);
    expect(Object.keys(entries(t))).toEqual(['default:token']);
  });

  it("--token-stdin, the profile's token refused as the caller (401): that token is dropped, exit 3", async () => {
    const t = testFactory({ stdin: 'gAAAA-someone-else' });
    await loggedIn(t, TOKEN);
    t.http.on('GET', TOKENS_URL, keystoneError(401, UNAUTHENTICATED));
    expect(await run(['token', 'check', '--token-stdin'], t.withEnv({ ...OS_ENV }))).toBe(3);
    expect(t.stdout()).toBe('');
    expect(t.stderr()).toBe(
      'authctl: the token of profile default (the caller of the check) is revoked or expired at IAM (401), so it was removed from the cache\nhint: run `authctl login`\n',
    );
    expect(entries(t)).toEqual({});
  });

  it('--token-stdin, the other token unknown (404): exit 3 about that token, the profile keeps its own', async () => {
    const t = testFactory({ stdin: 'gAAAA-someone-else' });
    await loggedIn(t, TOKEN);
    t.http.on('GET', TOKENS_URL, keystoneError(404, 'Could not find token: gAAAA-someone-else.'));
    expect(await run(['token', 'check', '--token-stdin'], t.withEnv({ ...OS_ENV }))).toBe(3);
    expect(t.stderr()).toMatch(/^authctl: the token is not valid: IAM does not accept it \(404: /);
    expect(Object.keys(entries(t))).toEqual(['default:token']);
  });

  it('token renew from a revoked token (404): exit 3 with the same message, the token dropped', async () => {
    const t = testFactory();
    await loggedIn(t, TOKEN);
    t.http.on('POST', TOKENS_URL, (request) => {
      expect(jsonBody(request)).toMatchObject({ auth: { identity: { methods: ['token'], token: { id: TOKEN } } } });
      return keystoneError(404, `Could not find token: ${TOKEN}.`);
    });
    expect(await run(['token', 'renew'], t.withEnv({ ...OS_ENV }))).toBe(3);
    expect(t.stdout()).toBe('');
    expect(t.stderr()).toBe(`${revokedLine('default', 404)}hint: run \`authctl login\`\n`);
    expect(entries(t)).toEqual({});
  });

  it('token renew --project from a revoked token (401, and HEAD says so too): exit 3, the hint logs in to the scope asked for', async () => {
    const t = testFactory();
    await loggedIn(t, TOKEN);
    t.http.on('POST', TOKENS_URL, keystoneError(401, UNAUTHENTICATED));
    t.http.on('HEAD', TOKENS_URL, { status: 401 });
    expect(await run(['token', 'renew', '--project', 'other project'], t.withEnv({ ...OS_ENV }))).toBe(3);
    expect(t.stderr()).toBe(`${revokedLine('default', 401)}hint: run \`authctl login --project 'other project'\`\n`);
    expect(entries(t)).toEqual({});
  });

  it('token renew --project refused (401) while the token itself is valid: exit 4 about the scope, the token stays', async () => {
    const t = testFactory();
    await loggedIn(t, TOKEN);
    t.http.on('POST', TOKENS_URL, keystoneError(401, UNAUTHENTICATED));
    t.http.on('HEAD', TOKENS_URL, { status: 200, headers: { 'X-Subject-Token': TOKEN } });
    expect(await run(['token', 'renew', '--project', 'nowhere'], t.withEnv({ ...OS_ENV }))).toBe(4);
    expect(t.stderr()).toMatch(/^authctl: login to https:\/\/iam\.example\.com\/v3 was rejected \(401\)/);
    expect(Object.keys(entries(t))).toEqual(['default:token']);
  });
});

// ---------------------------------------------------------------------------------------------

/**
 * The real retrying client (src/iam/http.ts) over the strict stub: each request is one try; a
 * responder made by `hang` takes the whole of the try's timeout on the test clock and fails as
 * a timed-out request does. The pauses between tries pass on the test clock too.
 */
/** The timeout each try got, in order, since the last `withRetries`. */
const tryTimeouts: number[] = [];

function withRetries(t: TestHarness, env: Record<string, string | undefined>): Factory {
  tryTimeouts.length = 0;
  const base = t.withEnv(env);
  return {
    ...base,
    httpClient: async (options: HttpOptions) => {
      t.httpOptions.push(options);
      const transport: Transport = async (request, _signal, timeoutMs) => {
        tryTimeouts.push(timeoutMs);
        return t.http.send(request);
      };
      return retryingClient(transport, { ...options, random: () => 0 });
    },
  };
}


/** A try that never gets an answer: its timeout passes on the test clock. */
function hang(t: TestHarness): Responder {
  return () => {
    const timeoutMs = tryTimeouts.at(-1)!;
    t.clock.advance(timeoutMs);
    throw new NetworkError(`no answer from ${ORIGIN} within ${timeoutMs / 1000}s`);
  };
}

describe('waiting for IAM', () => {
  it('a hung IAM at login, at a terminal: a line per retry on stderr, then the tries and the time they took', async () => {
    const t = testFactory({ tty: true });
    for (let i = 0; i < 3; i++) t.http.on('POST', TOKENS_URL, hang(t));
    const started = t.clock.now();
    expect(await run(['login'], withRetries(t, { ...OS_ENV, OS_PASSWORD: PASSWORD, NO_COLOR: '1' }))).toBe(5);
    expect(t.stdout()).toBe('');
    expect(t.stderr()).toBe(
      [
        `retrying (2/3) after a timeout (no answer from ${ORIGIN} within 10s) ...`,
        `retrying (3/3) after a timeout (no answer from ${ORIGIN} within 10s) ...`,
        `authctl: no answer from ${ORIGIN} (3 tries in 30.8s)`,
        'hint: check the URL, your network and any proxy settings; --timeout (AUTHCTL_TIMEOUT) gives each try longer, AUTHCTL_RETRIES sets how many tries',
        '',
      ].join('\n'),
    );
    // 10 s, a 250 ms pause, 10 s, 500 ms, 10 s.
    expect(t.clock.now() - started).toBe(30_750);
    expect(t.http.requests).toHaveLength(3);
    expect(entries(t)).toEqual({});
  });

  it('the same without a terminal: no progress lines, only the outcome', async () => {
    const t = testFactory();
    for (let i = 0; i < 3; i++) t.http.on('POST', TOKENS_URL, hang(t));
    expect(await run(['login'], withRetries(t, { ...OS_ENV, OS_PASSWORD: PASSWORD }))).toBe(5);
    expect(t.stderr()).toBe(
      `authctl: no answer from ${ORIGIN} (3 tries in 30.8s)\nhint: check the URL, your network and any proxy settings; --timeout (AUTHCTL_TIMEOUT) gives each try longer, AUTHCTL_RETRIES sets how many tries\n`,
    );
  });

  it('a 503 then an answer, at a terminal: the retry says so, and the login succeeds', async () => {
    const t = testFactory({ tty: true });
    t.http.on('POST', TOKENS_URL, keystoneError(503, 'Service Unavailable'));
    t.http.on('POST', TOKENS_URL, issued({ token: TOKEN, issuedAt: NOW, expiresAt: NOW + HOUR }));
    expect(await run(['login'], withRetries(t, { ...OS_ENV, OS_PASSWORD: PASSWORD, NO_COLOR: '1' }))).toBe(0);
    expect(t.stderr()).toMatch(new RegExp(`^retrying \\(2/3\\) after ${ORIGIN.replaceAll('.', '\\.')} answered 503 \\.\\.\\.\\nLogged in to `));
  });

  it('one budget for the whole command: a second request gets what the first left, then no retry', async () => {
    const t = testFactory({ stdin: 'gAAAA-someone-else' });
    await loggedIn(t, TOKEN);
    t.clock.advance(2 * HOUR); // the caller token has expired: check renews it first
    t.http.on('POST', TOKENS_URL, hang(t));
    t.http.on('POST', TOKENS_URL, hang(t));
    t.http.on('POST', TOKENS_URL, issued({ token: 'gAAAA-second', issuedAt: NOW + 2 * HOUR, expiresAt: NOW + 3 * HOUR }));
    t.http.on('GET', TOKENS_URL, hang(t));
    t.http.on('GET', TOKENS_URL, hang(t));
    expect(await run(['token', 'check', '--token-stdin'], withRetries(t, { ...OS_ENV, OS_PASSWORD: PASSWORD }))).toBe(5);
    // 32.25 s in all (3 tries of 10 s, 250 ms each for abandoning one, the longest pauses between
    // them): the renewal took 10 + 0.25 + 10 + 0.5, the check's first try 10 more; its second
    // try gets only what is left, and then there is no time for a third.
    expect(tryTimeouts.slice(0, 4)).toEqual([10_000, 10_000, 10_000, 10_000]);
    expect(tryTimeouts).toHaveLength(5);
    expect(tryTimeouts[4]).toBeLessThan(10_000);
    expect(t.http.requests.filter((request) => request.method === 'GET')).toHaveLength(2);
    expect(t.stderr()).toMatch(
      new RegExp(`^authctl: no answer from ${ORIGIN.replaceAll('.', '\\.')} \\(2 tries in [\\d.]+s; no time left for another\\)\\nhint: check the URL, your network and any proxy settings; --timeout \\(AUTHCTL_TIMEOUT\\) gives each try longer, AUTHCTL_RETRIES sets how many tries\\n$`),
    );
  });

  it('--timeout and AUTHCTL_RETRIES set the budget: 2 tries of 3 s and a pause', async () => {
    const t = testFactory();
    for (let i = 0; i < 2; i++) t.http.on('POST', TOKENS_URL, hang(t));
    const started = t.clock.now();
    expect(await run(['login', '--timeout', '3s'], withRetries(t, { ...OS_ENV, OS_PASSWORD: PASSWORD, AUTHCTL_RETRIES: '2' }))).toBe(5);
    expect(t.clock.now() - started).toBe(6250);
    expect(t.stderr()).toMatch(new RegExp(`^authctl: no answer from ${ORIGIN.replaceAll('.', '\\.')} \\(2 tries in 6.3s\\)\\n`));
  });

  it('a still-valid token near expiry, IAM hung: one try of --timeout in all, then the cached token with a warning naming `authctl token renew`', async () => {
    const t = testFactory({ tty: true });
    const env = { ...OS_ENV, OS_PASSWORD: PASSWORD, NO_COLOR: '1' };
    t.http.on('POST', TOKENS_URL, issued({ token: TOKEN, issuedAt: NOW, expiresAt: NOW + HOUR }));
    expect(await run(['login'], t.withEnv(env))).toBe(0);
    t.clearOutput();
    t.clock.advance(56 * MINUTE); // 4 minutes left, within --min-ttl 5m
    t.http.on('POST', TOKENS_URL, hang(t));
    const started = t.clock.now();
    expect(await run(['token', 'get'], withRetries(t, env))).toBe(0);
    expect(t.stdout()).toBe(`${TOKEN}\n`);
    expect(t.stderr()).toBe(
      `warning: no answer from ${ORIGIN} (1 try in 10s; no time left for another); serving the cached token, which expires in 3m; to renew it with every retry, run \`authctl token renew\`\n`,
    );
    expect(t.clock.now() - started).toBe(10_000);
    expect(t.http.requests.filter((request) => request.method === 'POST')).toHaveLength(2); // the login, and one try
  });

  it('the same for another profile: the warning names it', async () => {
    const t = testFactory();
    await loggedIn(t, TOKEN, ['--profile', 'work']);
    t.clock.advance(56 * MINUTE);
    t.http.on('POST', TOKENS_URL, hang(t));
    expect(await run(['--profile', 'work', 'token', 'get'], withRetries(t, { ...OS_ENV, OS_PASSWORD: PASSWORD }))).toBe(0);
    expect(t.stdout()).toBe(`${TOKEN}\n`);
    expect(t.stderr()).toMatch(/; to renew it with every retry, run `authctl token renew --profile work`\n$/);
  });

  it('export serves the still-valid token the same way', async () => {
    const t = testFactory();
    await loggedIn(t, TOKEN);
    t.clock.advance(56 * MINUTE);
    t.http.on('POST', TOKENS_URL, hang(t));
    expect(await run(['export'], withRetries(t, { ...OS_ENV, OS_PASSWORD: PASSWORD }))).toBe(0);
    expect(t.stdout()).toContain(TOKEN);
    expect(t.stderr()).toMatch(/serving the cached token, which expires in 3m; to renew it with every retry, run `authctl token renew`\n$/);
  });

  it('an expired token gets the whole budget: every retry, then exit 5', async () => {
    const t = testFactory();
    await loggedIn(t, TOKEN);
    t.clock.advance(2 * HOUR);
    for (let i = 0; i < 3; i++) t.http.on('POST', TOKENS_URL, hang(t));
    expect(await run(['token', 'get'], withRetries(t, { ...OS_ENV, OS_PASSWORD: PASSWORD }))).toBe(5);
    expect(t.stdout()).toBe('');
    expect(t.stderr()).toMatch(new RegExp(`^authctl: no answer from ${ORIGIN.replaceAll('.', '\\.')} \\(3 tries in 30.8s\\)\\n`));
  });

  it('token renew asks with the whole budget, not the short one', async () => {
    const t = testFactory();
    await loggedIn(t, TOKEN);
    t.clock.advance(56 * MINUTE);
    t.http.on('POST', TOKENS_URL, hang(t));
    t.http.on('POST', TOKENS_URL, issued({ token: 'gAAAA-renewed', issuedAt: t.clock.now(), expiresAt: t.clock.now() + HOUR }));
    expect(await run(['token', 'renew'], withRetries(t, { ...OS_ENV, OS_PASSWORD: PASSWORD }))).toBe(0);
    expect(t.stderr()).toMatch(/^Renewed at /);
  });
});

describe('--debug on the cached path', () => {
  it('says where the token came from and how long it has left', async () => {
    const t = testFactory();
    await loggedIn(t, TOKEN);
    t.clock.advance(10 * MINUTE);
    expect(await run(['--debug', 'token', 'get'], t.withEnv({ ...OS_ENV }))).toBe(0);
    expect(t.stdout()).toBe(`${TOKEN}\n`);
    expect(t.stderr()).toContain(
      `debug: profile default: serving the token cached in the OS keychain (from ${AUTH_URL}, issued 2026-12-01T12:00:00Z, expires 2026-12-01T13:00:00Z): 50m left, more than --min-ttl 5m; IAM not asked\n`,
    );
  });

  it('and, after a renewal, that the token is new', async () => {
    const t = testFactory();
    await loggedIn(t, TOKEN);
    t.clock.advance(58 * MINUTE);
    t.http.on('POST', TOKENS_URL, issued({ token: 'gAAAA-second', issuedAt: t.clock.now(), expiresAt: t.clock.now() + HOUR }));
    expect(await run(['--debug', 'token', 'get'], t.withEnv({ ...OS_ENV, OS_PASSWORD: PASSWORD }))).toBe(0);
    expect(t.stdout()).toBe('gAAAA-second\n');
    expect(t.stderr()).toContain(`debug: profile default: a new token from ${AUTH_URL}, expires 2026-12-01T13:58:00Z (1h 00m left)\n`);
    expect(t.stderr()).not.toContain('gAAAA-second');
  });

  it('the token check with IAM quoting the token: only its fingerprint in the debug line', async () => {
    const t = testFactory();
    await loggedIn(t, TOKEN);
    t.http.on('GET', TOKENS_URL, keystoneError(404, `Could not find token: ${TOKEN}.`));
    expect(await run(['--debug', 'token', 'check'], t.withEnv({ ...OS_ENV }))).toBe(3);
    expect(t.stderr()).toContain(`debug: IAM said: Could not find token: <${fingerprint(TOKEN)}>.\n`);
    expect(t.stderr()).not.toContain(TOKEN);
  });
});
