/**
 * Client credentials against a real, certified OAuth 2.0 server (oidc-provider, from npm): the
 * token endpoint's own discovery URL, its own error bodies.
 */
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { startOAuth2Server, type OAuth2Harness } from '../harness/oauth2-server.js';
import { isolatedEnv, runCli } from '../helpers/cli.js';
import { requireOrSkip } from '../helpers/env.js';

const keyring = inject('keyring');
const ready = requireOrSkip(keyring.ok ? undefined : keyring.reason, 'OAuth2 interop (OS keychain)');

describe.runIf(ready)('a real OAuth2 server (oidc-provider)', () => {
  let server: OAuth2Harness;
  beforeAll(async () => {
    server = await startOAuth2Server();
  });
  afterAll(async () => server?.stop());

  function login(env: Record<string, string | undefined>, clientId = server.client.id) {
    return runCli(['login', '--client-id', clientId, '--token-url', server.tokenUrl, '--client-secret-stdin', '--save-secret'], { env, input: server.client.secret });
  }

  it('logs in, serves the cached token without asking again, and renews', async () => {
    const env = isolatedEnv();
    const before = server.tokensIssued();
    const result = await login(env);
    expect(result.code, result.stderr).toBe(0);
    expect(result.stderr).toMatch(new RegExp(`^Logged in to ${server.tokenUrl} as client ${server.client.id} \\[profile default\\], until .* \\(9m\\)\\n$`));
    const first = await runCli(['token', 'get'], { env });
    const second = await runCli(['token', 'get'], { env });
    expect(first.stdout).toMatch(/^\S{20,}\n$/);
    expect(second.stdout).toBe(first.stdout);
    expect(server.tokensIssued() - before).toBe(1);

    const renew = await runCli(['token', 'renew'], { env });
    expect(renew.code, renew.stderr).toBe(0);
    const third = await runCli(['token', 'get'], { env });
    expect(third.stdout).not.toBe(first.stdout);
    expect(server.tokensIssued() - before).toBe(2);
  });

  it("a wrong secret: exit 4 with the server's error_description", async () => {
    const result = await runCli(['login', '--client-id', server.client.id, '--token-url', server.tokenUrl], { env: isolatedEnv({ AUTHCTL_CLIENT_SECRET: 'not-the-secret' }) });
    expect(result.code).toBe(4);
    expect(result.stderr).toBe(
      `authctl: client-credentials login to ${server.tokenUrl} was rejected (401): invalid_client: client authentication failed (the secret was sent with HTTP Basic)\n` +
        'hint: check the client id and secret (--client-id, AUTHCTL_CLIENT_SECRET); if the server wants the secret in the form body, log in with --client-auth post\n',
    );
  });

  it('an unknown client: exit 4', async () => {
    const result = await runCli(['login', '--client-id', 'nobody-knows-me', '--token-url', server.tokenUrl], { env: isolatedEnv({ AUTHCTL_CLIENT_SECRET: 'whatever-secret' }) });
    expect(result.code).toBe(4);
    expect(result.stderr).toContain('was rejected (401): invalid_client');
  });
});
