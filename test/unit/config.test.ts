import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { PROFILE_SCHEMA } from '../../src/settings/table.js';
import { ConfigFile, parseConfig, validateProfileName } from '../../src/store/config.js';

describe('the config file', () => {
  it('reads a missing file as no profiles, and writes it atomically, 0600 in a 0700 directory', async () => {
    const dir = join(mkdtempSync(join(tmpdir(), 'authctl-config-')), 'nested');
    const config = new ConfigFile(dir, PROFILE_SCHEMA);
    expect(config.read()).toEqual({ profiles: {} });
    await config.update((data) => {
      data.profiles['work.eu'] = { kind: 'keystone', authUrl: 'https://x/v3', userId: 'u' };
    });
    expect(statSync(config.path).mode & 0o777).toBe(0o600);
    expect(statSync(dir).mode & 0o777).toBe(0o700);
    expect(new ConfigFile(dir, PROFILE_SCHEMA).profile('work.eu')).toEqual({ kind: 'keystone', authUrl: 'https://x/v3', userId: 'u' });
    // Readable by a person, as conf used to write it; no temp file left behind.
    expect(readFileSync(config.path, 'utf8')).toBe('{\n\t"profiles": {\n\t\t"work.eu": {\n\t\t\t"kind": "keystone",\n\t\t\t"authUrl": "https://x/v3",\n\t\t\t"userId": "u"\n\t\t}\n\t}\n}');
    await config.update((data) => void (data.defaultProfile = 'work.eu'));
    expect(readdirSync(dir)).toEqual(['config.json']);
    expect(new ConfigFile(dir, PROFILE_SCHEMA).read().defaultProfile).toBe('work.eu');
  });

  it('reports a failed write with a hint, and leaves no temp file behind', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'authctl-config-'));
    const config = new ConfigFile(dir, PROFILE_SCHEMA);
    await config.update((data) => void (data.defaultProfile = 'a'));
    // Something that is not a file where the config file was (root ignores permissions, so this is the portable failure).
    rmSync(config.path);
    mkdirSync(join(config.path, 'in-the-way'), { recursive: true });
    const failed = config.update((data) => void (data.defaultProfile = 'b'));
    await expect(failed).rejects.toThrow(`cannot write the config file ${config.path}: `);
    await expect(failed).rejects.toMatchObject({ hint: expect.stringContaining('nothing was changed') });
    expect(readdirSync(dir)).toEqual(['config.json']);
    expect(readdirSync(config.path)).toEqual(['in-the-way']);
  });

  it('reports a corrupt file by name and never overwrites it', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'authctl-config-'));
    const path = join(dir, 'config.json');
    writeFileSync(path, '{"profiles": {"default": ');
    const config = new ConfigFile(dir, PROFILE_SCHEMA);
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
    expect(() => parseConfig(text, '/c.json', PROFILE_SCHEMA)).toThrow(message);
  });

  it.each(['default', 'work.eu-1', 'A_b'])('accepts the profile name %j', (name) => expect(validateProfileName(name)).toBe(name));
  it.each(['', '../etc', 'a/b', '.hidden', 'a:b', 'x'.repeat(65), 'ümlaut'])('refuses the profile name %j', (name) => {
    expect(() => validateProfileName(name)).toThrow('invalid profile name');
  });
});
