import { mkdtempSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigFile, parseConfig, validateProfileName } from '../../src/store/config.js';

describe('the config file', () => {
  it('reads a missing file as no profiles, and writes 0600 through conf', async () => {
    const dir = join(mkdtempSync(join(tmpdir(), 'authctl-config-')), 'nested');
    const config = new ConfigFile(dir);
    expect(config.read()).toEqual({ profiles: {} });
    await config.update((data) => {
      data.profiles['work.eu'] = { kind: 'keystone', authUrl: 'https://x/v3', userId: 'u' };
    });
    expect(statSync(config.path).mode & 0o777).toBe(0o600);
    expect(new ConfigFile(dir).profile('work.eu')).toEqual({ kind: 'keystone', authUrl: 'https://x/v3', userId: 'u' });
  });

  it('reports a corrupt file by name and never overwrites it', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'authctl-config-'));
    const path = join(dir, 'config.json');
    writeFileSync(path, '{"profiles": {"default": ');
    const config = new ConfigFile(dir);
    expect(() => config.read()).toThrow(`the config file ${path} is corrupt`);
    await expect(config.update(() => {})).rejects.toThrow('is corrupt');
    expect(readFileSync(path, 'utf8')).toBe('{"profiles": {"default": ');
  });

  it.each([
    ['[]', 'the top level is not a JSON object'],
    ['{"profiles": []}', '"profiles" is not an object'],
    ['{"profiles": {"../x": {}}}', 'is not a valid profile name'],
    ['{"profiles": {"a": {"authUrl": 5}}}', 'profiles.a.authUrl is not a string'],
    ['{"profiles": {"a": {"store": "cloud"}}}', 'profiles.a.store'],
    ['{"defaultProfile": "a/b", "profiles": {}}', '"defaultProfile" is not a profile name'],
  ])('refuses %s', (text, message) => {
    expect(() => parseConfig(text, '/c.json')).toThrow(message);
  });

  it.each(['default', 'work.eu-1', 'A_b'])('accepts the profile name %j', (name) => expect(validateProfileName(name)).toBe(name));
  it.each(['', '../etc', 'a/b', '.hidden', 'a:b', 'x'.repeat(65), 'ümlaut'])('refuses the profile name %j', (name) => {
    expect(() => validateProfileName(name)).toThrow('invalid profile name');
  });
});
