import { describe, expect, it } from 'vitest';
import { StoreError } from '../../src/core/errors.js';
import { run } from '../../src/main.js';
import { fingerprint } from '../../src/io/redact.js';
import { HttpStub } from '../helpers/http-stub.js';
import { NOW, testFactory } from '../helpers/factory.js';
import { AUTH_URL, TOKENS_URL } from '../helpers/iam-responses.js';
import { loggedIn, OS_ENV, PASSWORD } from '../helpers/steps.js';

/** The command-test harness itself: what makes a test fail must make it fail. */
describe('HttpStub', () => {
  it('answers a matching request once, with lower-case headers and a JSON body', async () => {
    const stub = new HttpStub().on('POST', TOKENS_URL, { status: 201, headers: { 'X-Subject-Token': 't' }, body: { ok: true } });
    expect(await stub.send({ method: 'POST', url: TOKENS_URL, body: '{}' })).toEqual({ status: 201, headers: { 'x-subject-token': 't', 'content-type': 'application/json' }, body: '{"ok":true}' });
    stub.verify();
  });

  it('refuses a request that matches no stub, naming its method and URL, and remembers it for verify', async () => {
    const stub = new HttpStub().on('GET', TOKENS_URL, { status: 200 });
    await expect(stub.send({ method: 'POST', url: TOKENS_URL })).rejects.toThrow(`HttpStub: no stub for POST ${TOKENS_URL} (stubs waiting: GET ${TOKENS_URL})`);
    await stub.send({ method: 'GET', url: TOKENS_URL });
    expect(() => stub.verify()).toThrow(`HttpStub: requests that matched no stub: POST ${TOKENS_URL}`);
  });

  it('a stub is used once: a second identical request is unexpected', async () => {
    const stub = new HttpStub().on('DELETE', TOKENS_URL, { status: 204 });
    await stub.send({ method: 'DELETE', url: TOKENS_URL });
    await expect(stub.send({ method: 'DELETE', url: TOKENS_URL })).rejects.toThrow('no stub for DELETE');
  });

  it('verify fails on a stub never requested', () => {
    const stub = new HttpStub().on('HEAD', `${AUTH_URL}/auth/tokens`, { status: 200 });
    expect(() => stub.verify()).toThrow(`HttpStub: stubs never requested: HEAD ${TOKENS_URL}`);
  });
});

describe('testFactory', () => {
  it('has a fixed clock that a test moves', () => {
    const t = testFactory();
    expect(t.factory.clock.now()).toBe(NOW);
    t.clock.advance(1000);
    expect(t.factory.clock.now()).toBe(NOW + 1000);
    expect(t.factory.env).toEqual({ AUTHCTL_CONFIG_DIR: t.configDir });
  });

  // These two must fail: the harness turns a request nobody expected, or a question nobody
  // scripted, into a failed test even though the command itself only exits non-zero.
  it.fails('fails a test whose command sends a request no stub expects', async () => {
    const t = testFactory({ env: { ...OS_ENV, OS_PASSWORD: PASSWORD } });
    await run(['token', 'get'], t.factory);
  });

  it.fails('fails a test whose command asks a question nobody scripted', async () => {
    const t = testFactory({ env: { OS_AUTH_URL: AUTH_URL, NO_COLOR: '1' }, tty: true });
    await run(['login'], t.factory);
  });

  it.fails('fails a test that leaves a stub unused', async () => {
    const t = testFactory();
    t.http.on('GET', TOKENS_URL, { status: 200 });
  });

  it('makes the store fail for one account, as a locked keychain does; the message is redacted on stderr too', async () => {
    const t = testFactory();
    await loggedIn(t);
    t.failOn('default:token', new StoreError(`the keychain refused: ${PASSWORD}`, { reason: 'keychain-unavailable' }));
    expect(await run(['token', 'get'], t.withEnv({ ...OS_ENV, OS_PASSWORD: PASSWORD }))).toBe(6);
    expect(t.stdout()).toBe('');
    expect(t.stderr()).toBe(
      `authctl: the keychain refused: <${fingerprint(PASSWORD)}>\n` +
        'hint: start a Secret Service (e.g. `gnome-keyring-daemon --unlock --components=secrets` in a D-Bus session), or keep tokens in an encrypted file with `--store file` / AUTHCTL_STORE=file\n',
    );
  });
});
