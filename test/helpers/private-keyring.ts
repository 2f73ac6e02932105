import { afterAll, beforeAll } from 'vitest';
import { startKeyring, type KeyringHarness } from '../harness/keyring.js';

/**
 * A Secret Service of the suite's own, to lock, freeze or kill without touching the run's shared
 * one: started before the suite's tests, stopped after them. Call it in the `describe` body.
 */
export function privateKeyring(): () => KeyringHarness {
  let harness: KeyringHarness | undefined;
  beforeAll(async () => {
    const started = await startKeyring();
    if (!started.ok) throw new Error(started.reason);
    harness = started.keyring;
  });
  afterAll(async () => harness?.stop());
  return () => {
    if (!harness) throw new Error('the private keyring did not start');
    return harness;
  };
}
