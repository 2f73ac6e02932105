/** Interactive login on a real pseudo-terminal: prompts, masking, Ctrl-C. */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, inject, it } from 'vitest';
import { isolatedEnv, runCli } from '../helpers/cli.js';
import { requireOrSkip } from '../helpers/env.js';
import { startPty } from '../helpers/pty.js';
import { loginEnv, newRealm } from '../helpers/realm.js';

const keyring = inject('keyring');
const ready = requireOrSkip(keyring.ok ? undefined : keyring.reason, 'interactive login (OS keychain)') && requireOrSkip(existsSync('/usr/bin/script') ? undefined : 'util-linux `script` is missing: apt-get install -y bsdutils', 'interactive login (pty)');

describe.runIf(ready)('interactive login at a terminal', () => {
  it('asks for what is missing, masks the password, and logs in', async () => {
    const realm = await newRealm();
    const env = isolatedEnv({ OS_PROJECT_NAME: '/smartcity' });
    const session = startPty(['login'], env);
    await session.waitFor(/Auth URL/);
    session.type(`${realm.authUrl}\r`);
    await session.waitFor(/User name/);
    session.type('alice\r');
    await session.waitFor(/User's domain/);
    session.type('Fiware\r');
    await session.waitFor(/Password for alice/);
    session.type(`${realm.fixtures.user.password}\r`);
    expect(await session.exit).toBe(0);
    const screen = session.output();
    expect(screen).toContain('Logged in to');
    expect(screen).not.toContain(realm.fixtures.user.password);
    expect(screen).toMatch(/Password for alice.*\*{6,}/);
    const token = await runCli(['token', 'get'], { env });
    expect(token.code).toBe(0);
  });

  it('asks only for the password when everything else is known', async () => {
    const realm = await newRealm();
    const env = isolatedEnv({ ...loginEnv(realm), OS_PASSWORD: undefined });
    const session = startPty(['login'], env);
    const screen = await session.waitFor(/Password for alice/);
    expect(screen).not.toMatch(/Auth URL|User name/);
    session.type(`${realm.fixtures.user.password}\r`);
    expect(await session.exit).toBe(0);
  });

  it('Ctrl-C at a prompt exits 130 and writes nothing', async () => {
    const realm = await newRealm();
    const env = isolatedEnv({ ...loginEnv(realm), OS_PASSWORD: undefined });
    const session = startPty(['login'], env);
    await session.waitFor(/Password for alice/);
    session.interrupt();
    expect(await session.exit).toBe(130);
    expect(session.output()).toContain('cancelled at the prompt; nothing was changed');
    expect(existsSync(join(env.AUTHCTL_CONFIG_DIR!, 'config.json'))).toBe(false);
    expect(await realm.count('POST')).toBe(0);
  });

  it('keeps the previous login when a second login is cancelled', async () => {
    const realm = await newRealm();
    const env = isolatedEnv(loginEnv(realm));
    await runCli(['login'], { env });
    const before = (await runCli(['token', 'get'], { env })).stdout;
    const config = readFileSync(join(env.AUTHCTL_CONFIG_DIR!, 'config.json'), 'utf8');
    const session = startPty(['login'], { ...env, OS_PASSWORD: undefined });
    await session.waitFor(/Password for alice/);
    session.interrupt();
    expect(await session.exit).toBe(130);
    expect((await runCli(['token', 'get'], { env })).stdout).toBe(before);
    expect(readFileSync(join(env.AUTHCTL_CONFIG_DIR!, 'config.json'), 'utf8')).toBe(config);
  });
});
