import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { StoreError, UsageError } from '../core/errors.js';
import { storageFailure } from './fs-errors.js';
import { checkPrivateDir, readPrivateFile } from './private-path.js';
import type { ProfileSchema, ProfileSettings } from '../core/profile-settings.js';
import { writeAtomically } from './atomic-write.js';

export type { ProfileSettings };

export interface ConfigData {
  defaultProfile?: string;
  profiles: Record<string, ProfileSettings>;
}

export const PROFILE_NAME_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;

export function validateProfileName(name: string): string {
  if (!PROFILE_NAME_PATTERN.test(name)) {
    throw new UsageError(`invalid profile name ${JSON.stringify(name)}`, {
      hint: 'profile names are 1-64 characters of letters, digits, ".", "_" and "-", starting with a letter or digit',
    });
  }
  return name;
}

export class ConfigError extends UsageError {
  constructor(message: string, hint: string, cause?: unknown) {
    super(message, { hint, cause });
  }
}

/**
 * The config file (JSON), mode 0600 in a 0700 directory. Reads go straight to the file (they are
 * on the cached `token get` path); writes replace it atomically: temp file, fsync, rename.
 */
export class ConfigFile {
  readonly dir: string;
  readonly path: string;
  readonly #schema: ProfileSchema;
  #data: ConfigData | undefined;

  constructor(dir: string, schema: ProfileSchema) {
    this.dir = dir;
    this.#schema = schema;
    this.path = join(dir, 'config.json');
  }

  read(): ConfigData {
    if (this.#data) return this.#data;
    checkPrivateDir(this.dir, 'config directory');
    let text: string;
    try {
      const read = readPrivateFile(this.path, { what: 'config file' });
      if (read === undefined) return (this.#data = { profiles: {} });
      text = read;
    } catch (error) {
      if (error instanceof StoreError) throw error;
      throw new ConfigError(`cannot read the config file ${this.path}: ${(error as Error).message}`, 'check its permissions', error);
    }
    this.#data = parseConfig(text, this.path, this.#schema);
    return this.#data;
  }

  profile(name: string): ProfileSettings | undefined {
    return Object.hasOwn(this.read().profiles, name) ? this.read().profiles[name] : undefined;
  }

  /** Applies `change` to the current contents and writes the result; a corrupt file is reported, never replaced. */
  async update(change: (data: ConfigData) => void): Promise<void> {
    const data = structuredClone(this.read());
    change(data);
    try {
      mkdirSync(this.dir, { recursive: true, mode: 0o700 });
      // Tab-indented, no final newline: the layout the file has always had.
      writeAtomically(this.path, JSON.stringify(data, undefined, '\t'));
    } catch (error) {
      throw storageFailure(error, 'write the config file', this.path, 'nothing was changed');
    }
    this.#data = data;
  }
}

/** Parses and checks the config file; anything unexpected is an error naming the file, not a guess. */
export function parseConfig(text: string, path: string, schema: ProfileSchema): ConfigData {
  const broken = (why: string) =>
    new ConfigError(`the config file ${path} is corrupt: ${why}`, `fix it by hand, or move it away and run \`authctl login\` again`);
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    throw broken((error as Error).message);
  }
  if (!isObject(value)) throw broken('the top level is not a JSON object');
  const profiles = value.profiles ?? {};
  if (!isObject(profiles)) throw broken('"profiles" is not an object');
  const result: ConfigData = { profiles: {} };
  if (value.defaultProfile !== undefined) {
    if (typeof value.defaultProfile !== 'string' || !PROFILE_NAME_PATTERN.test(value.defaultProfile)) {
      throw broken('"defaultProfile" is not a profile name');
    }
    result.defaultProfile = value.defaultProfile;
  }
  for (const [name, raw] of Object.entries(profiles)) {
    if (!PROFILE_NAME_PATTERN.test(name)) throw broken(`${JSON.stringify(name)} is not a valid profile name`);
    if (!isObject(raw)) throw broken(`profile ${name} is not an object`);
    const settings: Record<string, unknown> = {};
    for (const key of schema.strings) {
      const setting = raw[key];
      if (setting === undefined) continue;
      if (typeof setting !== 'string') throw broken(`profiles.${name}.${key} is not a string`);
      const choices = schema.choices[key];
      if (choices && !choices.includes(setting)) throw broken(`profiles.${name}.${key} is not ${choices.map((c) => JSON.stringify(c)).join(' or ')}`);
      settings[key] = setting;
    }
    for (const key of schema.booleans) {
      if (raw[key] === undefined) continue;
      if (typeof raw[key] !== 'boolean') throw broken(`profiles.${name}.${key} is not true or false`);
      settings[key] = raw[key];
    }
    if (raw.kind !== undefined) {
      if (typeof raw.kind !== 'string' || !schema.kinds.includes(raw.kind)) throw broken(`profiles.${name}.kind is not ${schema.kinds.map((k) => JSON.stringify(k)).join(' or ')}`);
      settings.kind = raw.kind;
    }
    result.profiles[name] = settings as ProfileSettings;
  }
  return result;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
