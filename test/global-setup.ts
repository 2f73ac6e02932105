/**
 * Servers shared by the whole test run, started once: the project's test IAM server and a real
 * Secret Service. Suites that need something missing here say so loudly and skip; under CI a
 * skip is a failure (see test/helpers/env.ts).
 */
import type { TestProject } from 'vitest/node';
import { startKeyring } from './harness/keyring.js';
import { startIamServer } from './helpers/iam-server.js';

declare module 'vitest' {
  export interface ProvidedContext {
    iamUrl: string;
    // No daemon pid here: the harness restarts a daemon that dies, so a pid handed out at start
    // could go stale, and on a busy machine (pid_max 32768) name some unrelated process.
    keyring: { ok: true; busAddress: string } | { ok: false; reason: string };
  }
}

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const [iam, keyring] = await Promise.all([startIamServer(), startKeyring()]);
  project.provide('iamUrl', iam.url);
  project.provide('keyring', keyring.ok ? { ok: true, busAddress: keyring.keyring.busAddress } : keyring);
  if (!keyring.ok) process.stderr.write(`\n!!! ${keyring.reason}\n!!! suites that need the OS keychain are skipped${process.env.CI ? ' (and fail, because CI=true)' : ''}\n\n`);
  return async () => {
    await iam.close();
    if (keyring.ok) await keyring.keyring.stop();
  };
}
