import { mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { AuthctlError, ExitCode, UsageError } from '../core/errors.js';
import type { Env } from '../io/io.js';

/** A profile's non-secret settings, as saved by `authctl login`. Secrets live in the secret store. */
export interface ProfileSettings {
  kind?: 'keystone' | 'oauth2';
  authUrl?: string;
  username?: string;
  userId?: string;
  userDomain?: string;
  userDomainId?: string;
  projectId?: string;
  project?: string;
  projectDomain?: string;
  projectDomainId?: string;
  domain?: string;
  domainId?: string;
  unscoped?: boolean;
  /** Plain http:// to a non-loopback host was allowed at login. */
  allowHttp?: boolean;
  /** A CA file (absolute path) to trust for this profile's IAM, given at login. */
  cacert?: string;
  /** TLS verification was turned off at login (--insecure): warned about on every request. */
  insecure?: boolean;
  region?: string;
  tokenUrl?: string;
  clientId?: string;
  store?: 'keychain' | 'file';
}

export interface ConfigData {
  defaultProfile?: string;
  profiles: Record<string, ProfileSettings>;
}

const STRING_SETTINGS = [
  'authUrl',
  'username',
  'userId',
  'userDomain',
  'userDomainId',
  'projectId',
  'project',
  'projectDomain',
  'projectDomainId',
  'domain',
  'domainId',
  'region',
  'tokenUrl',
  'clientId',
  'cacert',
] as const satisfies readonly (keyof ProfileSettings)[];

export const PROFILE_NAME_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;

export function validateProfileName(name: string): string {
  if (!PROFILE_NAME_PATTERN.test(name)) {
    throw new UsageError(`invalid profile name ${JSON.stringify(name)}`, {
      hint: 'profile names are 1-64 characters of letters, digits, ".", "_" and "-", starting with a letter or digit',
    });
  }
  return name;
}

export class ConfigError extends AuthctlError {
  constructor(message: string, hint: string, cause?: unknown) {
    super(ExitCode.Usage, message, { hint, cause });
  }
}

/**
 * The config file (JSON). Reads go straight to the file: they are on the cached `token get`
 * path, where loading conf (and its schema validator) would cost more than the rest of the
 * command. Writes go through conf, which replaces the file atomically.
 */
export class ConfigFile {
  readonly dir: string;
  readonly path: string;
  #data: ConfigData | undefined;

  constructor(dir: string) {
    this.dir = dir;
    this.path = join(dir, 'config.json');
  }

  read(): ConfigData {
    if (this.#data) return this.#data;
    let text: string;
    try {
      text = readFileSync(this.path, 'utf8');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return (this.#data = { profiles: {} });
      throw new ConfigError(`cannot read the config file ${this.path}: ${(error as Error).message}`, 'check its permissions', error);
    }
    this.#data = parseConfig(text, this.path);
    return this.#data;
  }

  profile(name: string): ProfileSettings | undefined {
    return Object.hasOwn(this.read().profiles, name) ? this.read().profiles[name] : undefined;
  }

  /** Applies `change` to the current contents and writes the result; a corrupt file is reported, never replaced. */
  async update(change: (data: ConfigData) => void): Promise<void> {
    const data = structuredClone(this.read());
    change(data);
    const { default: Conf } = await import('conf');
    try {
      mkdirSync(this.dir, { recursive: true, mode: 0o700 });
      const conf = new Conf<Record<string, unknown>>({
        cwd: this.dir,
        configName: 'config',
        accessPropertiesByDotNotation: false,
        configFileMode: 0o600,
      });
      conf.store = data as unknown as Record<string, unknown>;
    } catch (error) {
      throw new AuthctlError(ExitCode.Unexpected, `cannot write the config file ${this.path}: ${(error as Error).message}`, {
        hint: 'check that the directory is writable (or set AUTHCTL_CONFIG_DIR); nothing was changed',
        cause: error,
      });
    }
    this.#data = data;
  }
}

/** Parses and checks the config file; anything unexpected is an error naming the file, not a guess. */
export function parseConfig(text: string, path: string): ConfigData {
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
    const settings: ProfileSettings = {};
    for (const key of STRING_SETTINGS) {
      const setting = raw[key];
      if (setting === undefined) continue;
      if (typeof setting !== 'string') throw broken(`profiles.${name}.${key} is not a string`);
      settings[key] = setting;
    }
    for (const key of ['unscoped', 'allowHttp', 'insecure'] as const) {
      if (raw[key] === undefined) continue;
      if (typeof raw[key] !== 'boolean') throw broken(`profiles.${name}.${key} is not true or false`);
      settings[key] = raw[key];
    }
    if (raw.kind !== undefined) {
      if (raw.kind !== 'keystone' && raw.kind !== 'oauth2') throw broken(`profiles.${name}.kind is not "keystone" or "oauth2"`);
      settings.kind = raw.kind;
    }
    if (raw.store !== undefined) {
      if (raw.store !== 'keychain' && raw.store !== 'file') throw broken(`profiles.${name}.store is not "keychain" or "file"`);
      settings.store = raw.store;
    }
    result.profiles[name] = settings;
  }
  return result;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** --profile, else AUTHCTL_PROFILE, else the profile chosen with `profile use`, else `default`. */
export function chooseProfileName(flag: string | undefined, env: Env, config: ConfigFile): string {
  const explicit = flag ?? (env.AUTHCTL_PROFILE || undefined);
  if (explicit !== undefined) return validateProfileName(explicit);
  return config.read().defaultProfile ?? 'default';
}

/** AUTHCTL_CONFIG_DIR, else the platform's config directory (XDG on Linux). */
export async function defaultConfigDir(env: Env): Promise<string> {
  if (env.AUTHCTL_CONFIG_DIR) return env.AUTHCTL_CONFIG_DIR;
  const { default: envPaths } = await import('env-paths');
  return envPaths('authctl', { suffix: '' }).config;
}
