import { UsageError } from './errors.js';

/**
 * The settings model. Every flag and environment variable authctl reads is one `Setting` row;
 * the commander options, the fast path's parseArgs options, the config file's checks and
 * README's table are all derived from the rows (`src/auth/registry.ts` gathers them).
 * Values are resolved from layers (flags, environment, clouds.yaml, profile, prompt), and each
 * value keeps the layer it came from, so messages can say "project demo (from OS_PROJECT_NAME)".
 */

/** The command paths options belong to; `global` options go with every command. */
export const COMMAND_PATHS = [
  'global',
  'login',
  'token get',
  'token check',
  'token renew',
  'logout',
  'logintoken',
  'export',
  'exec',
  'credentials',
  'profile list',
  'profile show',
  'status',
  'projects',
] as const;
export type CommandPath = (typeof COMMAND_PATHS)[number];

export interface Setting {
  /** The option's name in code: commander's camelCase of the flag, and the profile field when saved. */
  key: string;
  /** The long flag, e.g. `--auth-url`; absent for settings read only from the environment. */
  flag?: string;
  short?: string;
  /** The value's placeholder, e.g. `<url>`; absent for a switch. */
  arg?: string;
  /** Environment variables, the first one set wins. */
  env?: readonly string[];
  /** Where a `clouds.yaml` entry holds it, e.g. `auth.auth_url`. */
  clouds?: string;
  /** Kept by `login`: in the profile (config file), or in the secret store. */
  saved?: 'profile' | 'secret-store';
  /** Never printed, logged or saved in the config file; stripped from `exec`'s environment. */
  secret?: boolean;
  choices?: readonly string[];
  defaultValue?: string;
  /** Where the flag appears. Environment-only settings list the commands that read them. */
  commands: readonly CommandPath[];
  /** One line of help; per command where the meaning differs. */
  help: string | { [path in CommandPath]?: string };
  /** Shown in help and README but not offered by completion. */
  hidden?: boolean;
}

export function helpFor(setting: Setting, path: CommandPath): string {
  if (typeof setting.help === 'string') return setting.help;
  return setting.help[path] ?? Object.values(setting.help)[0] ?? '';
}

export function settingsFor(settings: readonly Setting[], path: CommandPath): Setting[] {
  return settings.filter((setting) => setting.flag !== undefined && setting.commands.includes(path));
}

/** `--auth-url` → `authUrl`, as commander names option values. */
export function flagKey(flag: string): string {
  // commander: `--no-browser` sets `browser` to false (and true when not given).
  return flag.replace(/^--(no-)?/, '').replace(/-([a-z])/g, (_, letter: string) => letter.toUpperCase());
}

// ---------------------------------------------------------------------------------------------
// Sources and layers

export type SourceKind = 'flag' | 'env' | 'clouds.yaml' | 'profile' | 'prompt';

/** Where a value came from: the flag, the variable, the clouds.yaml key, the profile, the prompt. */
export interface Source {
  kind: SourceKind;
  /** `--project`, `OS_PROJECT_NAME`, `clouds.yaml cloud demo`, `profile work`, `prompt`. */
  name: string;
}

export type Values = Record<string, string | boolean | undefined>;

/** One layer of values, in precedence order with the others. */
export interface Layer<V extends object = Values> {
  kind: SourceKind;
  values: V;
  /** The name of the flag, variable or key that gave `key` in this layer. */
  origin(key: string): string;
}

export function layer<V extends object>(kind: SourceKind, values: V, origin: string | ((key: string) => string) = kind): Layer<V> {
  return { kind, values, origin: typeof origin === 'string' ? () => origin : origin };
}

export function sourceOf(from: Layer<object>, key: string): Source {
  return { kind: from.kind, name: from.origin(key) };
}

/** The first layer's value of `key`, with where it came from. */
export function pick<V extends object, K extends keyof V & string>(layers: readonly Layer<V>[], key: K): { value: NonNullable<V[K]>; source: Source } | undefined {
  for (const from of layers) {
    const value = from.values[key];
    if (value !== undefined) return { value: value as NonNullable<V[K]>, source: sourceOf(from, key) };
  }
  return undefined;
}

/** The layer of the flags a command line gave, for the settings listed. */
export function flagLayer<V extends object = Values>(opts: Record<string, unknown>, settings: readonly Setting[]): Layer<V> {
  const values: Values = {};
  const flags = new Map<string, string>();
  for (const setting of settings) {
    const value = opts[setting.key];
    if (value === undefined || setting.flag === undefined || setting.secret) continue;
    if (typeof value === 'string') values[setting.key] = checkText(value, setting.flag);
    else if (value === true) values[setting.key] = true;
    else if (value === false && setting.flag.startsWith('--no-')) values[setting.key] = false;
    else continue;
    flags.set(setting.key, setting.flag);
  }
  return layer('flag', values as V, (key) => flags.get(key) ?? key);
}

/** The layer of the environment, for the settings listed: the first variable of each that is set and not empty. */
export function envLayer<V extends object = Values>(env: Readonly<Record<string, string | undefined>>, settings: readonly Setting[]): Layer<V> {
  const values: Values = {};
  const names = new Map<string, string>();
  for (const setting of settings) {
    if (setting.secret || setting.arg === undefined) continue;
    const name = setting.env?.find((variable) => env[variable] !== undefined && env[variable] !== '');
    if (name === undefined) continue;
    values[setting.key] = checkText(env[name]!, name);
    names.set(setting.key, name);
  }
  return layer('env', values as V, (key) => names.get(key) ?? key);
}

/** A row's value from the environment: the first of its variables that is set and not empty. */
export function fromEnvironment(env: Readonly<Record<string, string | undefined>>, setting: Setting): string | undefined {
  for (const name of setting.env ?? []) {
    const value = env[name];
    if (value !== undefined && value !== '') return value;
  }
  return undefined;
}

/** `project demo (from OS_PROJECT_NAME)`, for messages and `--debug`. */
export function describeSourced(what: string, value: string | boolean, source: Source): string {
  return `${what}${value === true ? '' : ` ${value}`} (from ${source.name})`;
}

// ---------------------------------------------------------------------------------------------
// Checks every setting shares

/** Names, ids and URLs never hold control characters; one that does is a mistake or an attack. */
export function checkText(value: string, name: string): string {
  if (/[\u0000-\u001f\u007f]/.test(value)) {
    throw new UsageError(`${name} contains a control character (a line break, tab, NUL...)`, { hint: `check the value of ${name}` });
  }
  return value;
}

/** A value nobody supplied, named the way the user can supply it. */
export interface Missing {
  what: string;
  flag: string;
  env?: string;
}

export function describeMissing(missing: readonly Missing[]): string {
  return missing.map((m) => `${m.what} (${m.flag}${m.env ? `, env ${m.env}` : ''})`).join('; ');
}

/** A setting's row as a `Missing`: its flag and first variable. */
export function missingSetting(what: string, setting: Setting): Missing {
  const missing: Missing = { what, flag: setting.flag ?? setting.key };
  if (setting.env?.[0]) missing.env = setting.env[0];
  return missing;
}

/** The WHATWG URL's hostname: IPv4 in dotted form, IPv6 compressed (an IPv4-mapped 127.x as `[::ffff:7fxx:xxxx]`). */
function isLoopback(hostname: string): boolean {
  return hostname === 'localhost' || hostname === '[::1]' || /^127(\.\d{1,3}){3}$/.test(hostname) || /^\[::ffff:7f[0-9a-f]{2}:[0-9a-f]{1,4}\]$/.test(hostname);
}

/**
 * A URL as a message may show it, given by the user and maybe not parsing at all: never its
 * user:password@ part, its query, its fragment or its `;`-parameters (they may hold secrets).
 * With or without a scheme (`bob:secret@host/v3` reads as one, scheme `bob:`), everything up to
 * the last `@` goes: a password may hold an unencoded `/`, `?` or `#`, and a path rarely an `@`.
 */
export function displayUrl(text: string): string {
  const scheme = /^[a-z][a-z0-9+.-]*:[/\\]{2}/i.exec(text)?.[0] ?? '';
  let rest = text.slice(scheme.length);
  const at = rest.lastIndexOf('@');
  if (at !== -1) rest = `…${rest.slice(at)}`;
  return scheme + rest.replace(/[?#;].*$/s, (cut) => (cut.length > 1 ? `${cut[0]}…` : cut));
}

/**
 * Checks a URL before anything is sent to it, and normalises it (no trailing slash).
 * Plain http is only for loopback unless explicitly allowed: passwords must not cross a network in clear.
 */
export function checkUrl(text: string, what: string, flag: string, allowHttp: boolean): string {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw new UsageError(`${what} ${JSON.stringify(displayUrl(text))} is not a URL`, { hint: `give a full https:// URL with ${flag}` });
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') {
    throw new UsageError(`${what} ${JSON.stringify(displayUrl(text))} is not an http(s) URL`, { hint: `give a full https:// URL with ${flag}` });
  }
  if (url.username || url.password) {
    throw new UsageError(`${what} must not contain credentials`, { hint: 'remove the user:password@ part; authctl asks for the password itself' });
  }
  if (url.search || url.hash) {
    throw new UsageError(`${what} ${JSON.stringify(displayUrl(text))} must not have a query or fragment`, { hint: `give the base URL with ${flag}` });
  }
  if (url.protocol === 'http:' && !allowHttp && !isLoopback(url.hostname)) {
    throw new UsageError(`refusing plain http:// for ${url.host}: credentials would cross the network unencrypted`, {
      hint: 'use https://, or pass --allow-http if you really mean it',
    });
  }
  return url.href.replace(/\/+$/, '');
}
