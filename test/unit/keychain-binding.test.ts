import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { bindingCandidates, loadBinding } from '../../src/store/keychain.js';

const packageJson = (name: string) => JSON.parse(readFileSync(new URL(`../../node_modules/${name}/package.json`, import.meta.url), 'utf8'));

describe('loading the keychain binding', () => {
  it('tries the platform package first, then @napi-rs/keyring, which knows every platform', () => {
    expect(bindingCandidates('linux', 'x64')).toEqual(['@napi-rs/keyring-linux-x64-gnu', '@napi-rs/keyring']);
    expect(bindingCandidates('win32', 'x64')).toEqual(['@napi-rs/keyring-win32-x64-msvc', '@napi-rs/keyring']);
    expect(bindingCandidates('darwin', 'arm64')).toEqual(['@napi-rs/keyring-darwin-arm64', '@napi-rs/keyring']);
    expect(bindingCandidates('freebsd', 'x64')).toEqual(['@napi-rs/keyring']);
  });

  it('falls back to @napi-rs/keyring when the platform package does not load (musl, not installed)', () => {
    const asked: string[] = [];
    const loaded = loadBinding(<T>(name: string): T => {
      asked.push(name);
      if (name !== '@napi-rs/keyring') throw new Error(`Error loading shared library ld-linux-x86-64.so.2: ${name}`);
      return { from: name } as T;
    }, 'linux', 'x64');
    expect(loaded).toEqual({ from: '@napi-rs/keyring' });
    expect(asked).toEqual(['@napi-rs/keyring-linux-x64-gnu', '@napi-rs/keyring']);
  });

  it("reports the loader's own error when nothing loads", () => {
    expect(() =>
      loadBinding(<T>(name: string): T => {
        throw new Error(`cannot load ${name}`);
      }, 'linux', 'arm64'),
    ).toThrow('cannot load @napi-rs/keyring');
  });

  it('loads, on this machine, the very binding @napi-rs/keyring would (same package, same version)', () => {
    const own = bindingCandidates(process.platform, process.arch)[0]!;
    const expected = packageJson('@napi-rs/keyring').optionalDependencies[own];
    expect(expected, `${own} is not one of @napi-rs/keyring's platform packages`).toBeDefined();
    expect(packageJson(own).version).toBe(expected);
  });
});
