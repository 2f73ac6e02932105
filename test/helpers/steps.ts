import { expect } from 'vitest';
import { run } from '../../src/main.js';
import type { TestHarness } from './factory.js';
import { AUTH_URL, issued, TOKENS_URL } from './iam-responses.js';

export const HOUR = 3600_000;
export const MINUTE = 60_000;
export const PASSWORD = 'correct-horse-battery';
export const OS_ENV = { OS_AUTH_URL: AUTH_URL, OS_USERNAME: 'alice', OS_USER_DOMAIN_NAME: 'Default', OS_PROJECT_NAME: 'demo' } as const;

/** Logs the harness's profile in with a password from the environment (one stubbed POST), then clears the output. */
export async function loggedIn(t: TestHarness, token = 'gAAAA-first', args: string[] = []): Promise<void> {
  const now = t.clock.now();
  t.http.on('POST', TOKENS_URL, issued({ token, issuedAt: now, expiresAt: now + HOUR }));
  const code = await run(['login', ...args], t.withEnv({ ...OS_ENV, OS_PASSWORD: PASSWORD }));
  expect(t.stderr()).toMatch(/^Logged in to /);
  expect(code).toBe(0);
  t.clearOutput();
}

/** The entries of the memory store, as a plain object, to compare before and after. */
export function entries(t: TestHarness): Record<string, string> {
  return Object.fromEntries(t.store.entries);
}
