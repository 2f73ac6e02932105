/** The settings table is the one source of flags and variables: everything derived from it stays in step. */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { describe, expect, it } from 'vitest';
import { keyVariableNames } from '../../src/shell/variables.js';
import { OPENSTACK_NAMES } from '../../src/auth/openstack-variables.js';
import { AUTH_METHODS } from '../../src/auth/registry.js';
import { buildProgram } from '../../src/cli/program.js';
import { COMMAND_PATHS, flagKey, settingsFor } from '../../src/core/settings.js';
import { recognise, recogniseFlags } from '../../src/fast.js';
import { SecretRegistry } from '../../src/io/redact.js';
import { parseArgsOptions, PROFILE_SCHEMA, SECRET_VARIABLES, SETTINGS } from '../../src/settings/table.js';
import { withTable } from '../../scripts/settings-table.js';
import type { Factory } from '../../src/session/factory.js';

const ROOT = new URL('../..', import.meta.url).pathname;

function sourceFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    return statSync(path).isDirectory() ? sourceFiles(path) : path.endsWith('.ts') ? [path] : [];
  });
}

describe('the settings table', () => {
  it('is what README lists (run `npm run readme` after changing a row)', () => {
    const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
    expect(withTable(readme)).toBe(readme);
  });

  it('names every AUTHCTL_*, OS_* and HUAWEICLOUD_* variable the code reads', () => {
    const known = new Set(SETTINGS.flatMap((setting) => setting.env ?? []));
    // Written for the OpenStack client by `export --openstack`, not read.
    const written = new Set<string>(OPENSTACK_NAMES.filter((name) => !known.has(name)));
    written.add('AUTHCTL_VERSION'); // the build's define, not a variable
    // Written for SDKs and Terraform by `credentials` and `--aksk`.
    for (const name of keyVariableNames(true)) if (!known.has(name)) written.add(name);
    const unknown = new Set<string>();
    for (const file of sourceFiles(join(ROOT, 'src'))) {
      for (const [name] of readFileSync(file, 'utf8').matchAll(/\b(?:AUTHCTL|OS|HUAWEICLOUD)_[A-Z][A-Z_]*[A-Z]\b/g)) {
        if (!known.has(name) && !written.has(name)) unknown.add(`${name} (${relative(ROOT, file)})`);
      }
    }
    expect([...unknown]).toEqual([]);
  });

  it('gives each flag the key commander gives it, and no flag twice on a command', () => {
    for (const setting of SETTINGS) if (setting.flag) expect(setting.key, setting.flag).toBe(flagKey(setting.flag));
    for (const path of COMMAND_PATHS) {
      const flags = settingsFor(SETTINGS, path).map((setting) => setting.flag);
      expect(new Set(flags).size, path).toBe(flags.length);
    }
  });

  it('is exactly the options commander declares for each command', () => {
    const silent = { write: () => true };
    const program = buildProgram({ io: { stdout: silent, stderr: silent }, version: '0.0.0' } as unknown as Factory, new SecretRegistry());
    const find = (path: string) => path.split(' ').reduce((command, name) => command.commands.find((sub) => sub.name() === name)!, program);
    expect(program.options.map((option) => option.long).filter((flag) => flag !== '--version')).toEqual(settingsFor(SETTINGS, 'global').map((setting) => setting.flag));
    for (const path of COMMAND_PATHS.filter((candidate) => candidate !== 'global')) {
      expect(find(path).options.map((option) => option.long), path).toEqual(settingsFor(SETTINGS, path).map((setting) => setting.flag));
    }
  });

  it("gives the fast path's parser the flags of token get, export and the global ones, and nothing else", () => {
    const flags = Object.keys(parseArgsOptions(['global', 'token get', 'export'])).sort();
    const expected = [...new Set(['global', 'token get', 'export'].flatMap((path) => settingsFor(SETTINGS, path as never).map((setting) => setting.flag!.slice(2))))].sort();
    expect(flags).toEqual(expected);
    expect(recognise(['token', 'get', '--min-ttl', '1m', '-p', 'work'])).toMatchObject({ command: 'token get', options: { minTtl: '1m' }, globals: { profile: 'work' } });
    expect(recognise(['token', 'get', '--shell', 'fish'])).toBeUndefined();
    expect(recognise(['export', '--json'])).toBeUndefined();
  });

  it('answers the bare `token get` and `export` without the parser, exactly as the parser would', () => {
    for (const argv of [['token', 'get'], ['export']]) {
      const parsed = recogniseFlags(argv);
      expect(parsed, argv.join(' ')).toBeDefined();
      expect(recognise(argv), argv.join(' ')).toStrictEqual(parsed);
    }
    // Anything else still goes through it.
    expect(recognise(['token', 'get', 'extra'])).toBeUndefined();
    expect(recognise(['export', '--shell', 'fish'])).toStrictEqual(recogniseFlags(['export', '--shell', 'fish']));
  });

  it('derives the config file schema: every saved setting, of its type', () => {
    const saved = SETTINGS.filter((setting) => setting.saved === 'profile');
    expect([...PROFILE_SCHEMA.strings, ...PROFILE_SCHEMA.booleans].sort()).toEqual(saved.map((setting) => setting.key).sort());
    expect(PROFILE_SCHEMA.kinds).toEqual(AUTH_METHODS.map((method) => method.kind));
    expect(PROFILE_SCHEMA.choices.store).toEqual(['keychain', 'file']);
  });

  it('lists the secret variables exec keeps from its child', () => {
    expect(SECRET_VARIABLES).toEqual(expect.arrayContaining(['OS_PASSWORD', 'AUTHCTL_CLIENT_SECRET', 'AUTHCTL_SECRET_KEY', 'AUTHCTL_SECURITY_TOKEN', 'AUTHCTL_FILE_PASSPHRASE', 'HUAWEICLOUD_SDK_SK', 'HUAWEICLOUD_SDK_SECURITY_TOKEN']));
    expect(SECRET_VARIABLES).not.toContain('OS_USERNAME');
  });
});

describe('layers that point one way', () => {
  const LAYERS: Record<string, readonly string[]> = {
    // directory: the directories it may import from
    util: ['util'],
    core: ['core', 'util'],
    io: ['io', 'core', 'util'],
    iam: ['iam', 'core', 'io', 'util'],
    store: ['store', 'core', 'io', 'util'],
    shell: ['shell', 'core', 'auth', 'util'],
    auth: ['auth', 'core', 'iam', 'io', 'util'],
    settings: ['settings', 'auth', 'core', 'shell', 'store', 'util'],
    session: ['session', 'settings', 'auth', 'core', 'iam', 'io', 'store', 'util'],
  };

  it.each(Object.keys(LAYERS))('src/%s imports only from the layers below it', (dir) => {
    const wrong: string[] = [];
    for (const file of sourceFiles(join(ROOT, 'src', dir))) {
      for (const [, target] of readFileSync(file, 'utf8').matchAll(/(?:from|import\()\s*'(\.\.?\/[^']+)'/g)) {
        const resolved = relative(join(ROOT, 'src'), join(file, '..', target!)).split('/')[0]!;
        if (!LAYERS[dir]!.includes(resolved)) wrong.push(`${relative(ROOT, file)} imports ${target}`);
      }
    }
    expect(wrong).toEqual([]);
  });
});
