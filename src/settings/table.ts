import { METHOD_SETTINGS, profileSchema } from '../auth/registry.js';
import { helpFor, type CommandPath, type Setting } from '../core/settings.js';
import { SHELL_NAMES } from '../shell/formats.js';
import { STORE_KINDS } from '../store/secret-store.js';

/**
 * The settings table: every flag and environment variable authctl reads. The auth methods'
 * rows come from their modules; the rows here are the ones every command shares and the
 * commands' own. Commander's options, the fast path's parseArgs options, the config file's
 * checks and README's table are derived from `SETTINGS`.
 */

export const TOKEN_OUTPUTS = ['token', 'json', 'exec-credential', 'id-token'] as const;

export const GLOBAL_SETTINGS: readonly Setting[] = [
  { key: 'profile', flag: '--profile', short: '-p', arg: '<name>', env: ['AUTHCTL_PROFILE'], commands: ['global'], help: 'profile to use (default: the one chosen with `profile use`, else "default")' },
  { key: 'store', flag: '--store', arg: '<kind>', env: ['AUTHCTL_STORE'], choices: STORE_KINDS, saved: 'profile', commands: ['global'], help: 'where secrets are kept' },
  { key: 'timeout', flag: '--timeout', arg: '<duration>', env: ['AUTHCTL_TIMEOUT'], defaultValue: '10s', commands: ['global'], help: 'network timeout, e.g. 10s' },
  { key: 'osCloud', flag: '--os-cloud', arg: '<name>', env: ['OS_CLOUD'], commands: ['global'], help: 'read settings from this clouds.yaml entry' },
  { key: 'cacert', flag: '--cacert', arg: '<file>', env: ['AUTHCTL_CACERT', 'OS_CACERT'], clouds: 'cacert', saved: 'profile', commands: ['global'], help: 'also trust the CA certificates in this PEM file' },
  { key: 'insecure', flag: '--insecure', clouds: 'verify', saved: 'profile', commands: ['global'], help: 'do not verify TLS certificates (warned about on every use)' },
  { key: 'debug', flag: '--debug', env: ['AUTHCTL_DEBUG'], commands: ['global'], help: 'log each request to stderr, secrets replaced by fingerprints' },
  { key: 'configDir', env: ['AUTHCTL_CONFIG_DIR'], commands: ['global'], help: 'the config directory (default: the platform\'s, ~/.config/authctl on Linux); each has its own keychain entries' },
  { key: 'retries', env: ['AUTHCTL_RETRIES'], defaultValue: '3', commands: ['global'], help: 'attempts per request, 1 to 10 (connection errors, 429, 502, 503, 504)' },
  { key: 'lockTimeout', env: ['AUTHCTL_LOCK_TIMEOUT'], defaultValue: '30s', commands: ['global'], help: 'how long to wait for another authctl renewing the same profile (or, without a terminal, logging in to it; one waiting for a person in a browser is not waited for)' },
  { key: 'keychainTimeout', env: ['AUTHCTL_KEYCHAIN_TIMEOUT'], defaultValue: '3s', commands: ['global'], help: "how long to wait for the OS keychain (on Linux the binding's own D-Bus calls also give up after 2s)" },
  { key: 'keychainChunkSize', env: ['AUTHCTL_KEYCHAIN_CHUNK_SIZE'], commands: ['global'], help: 'split store entries over this many characters (default: 1200 on Windows, else never)', hidden: true },
  { key: 'cloudsFile', env: ['OS_CLIENT_CONFIG_FILE'], commands: ['global'], help: 'the clouds.yaml to read (default: searched as OpenStack\'s tools search it)' },
  { key: 'secureFile', env: ['OS_CLIENT_SECURE_FILE'], commands: ['global'], help: 'the secure.yaml merged over it' },
  { key: 'filePassphrase', env: ['AUTHCTL_FILE_PASSPHRASE'], secret: true, commands: ['global'], help: 'encrypt the file store (--store file) with a key derived from this passphrase (scrypt, once per run)' },
  { key: 'fileKey', env: ['AUTHCTL_FILE_KEY'], secret: true, commands: ['global'], help: 'encrypt the file store with this key instead: 32 random bytes in base64, from `openssl rand -base64 32`; no key derivation, the choice for CI (wins over the passphrase for writes)' },
];

const JSON_HELP: Setting['help'] = {
  login: 'print what was obtained as JSON on stdout (never the token or password)',
  'token get': 'print the token with its metadata as JSON (same as --output json)',
  'token check': 'print the result as JSON',
  'token renew': "print the new token's metadata as JSON (not the token)",
  logintoken: 'print the token and the logintoken object as JSON',
  'profile list': 'as JSON',
  'profile show': 'as JSON',
  status: 'as JSON',
  projects: 'as JSON: {profile, projects: [{id, name, domain, current}], domains: [...]}',
};

const MIN_TTL: Setting = { key: 'minTtl', flag: '--min-ttl', arg: '<duration>', env: ['AUTHCTL_MIN_TTL'], defaultValue: '5m', commands: ['token get', 'export', 'exec', 'credentials'], help: 'renew when less than this is left' };

export const COMMAND_SETTINGS: readonly Setting[] = [
  { key: 'allowHttp', flag: '--allow-http', saved: 'profile', commands: ['login', 'logintoken'], help: 'allow plain http:// to a host other than loopback' },
  { key: 'json', flag: '--json', commands: ['login', 'token get', 'token check', 'token renew', 'logintoken', 'profile list', 'profile show', 'status', 'projects'], help: JSON_HELP },
  MIN_TTL,
  { key: 'profileActive', env: ['AUTHCTL_PROFILE_ACTIVE'], commands: ['exec'], help: "set by `exec` in the command's environment to the profile's name; an `exec` that finds it set warns that it runs inside another" },
  { key: 'output', flag: '--output', arg: '<format>', choices: TOKEN_OUTPUTS, commands: ['token get'], help: 'token (default), json, exec-credential for kubectl, or id-token (an OpenID Connect sign-in\'s ID token)' },
  { key: 'tokenStdin', flag: '--token-stdin', commands: ['token check'], help: "check another token, read from stdin, using the profile's token to ask" },
  { key: 'quiet', flag: '--quiet', short: '-q', commands: ['token check'], help: 'print nothing (HEAD request): the exit code is the answer' },
  { key: 'offline', flag: '--offline', commands: ['token check'], help: 'send nothing; judge from the cached expiry' },
  { key: 'all', flag: '--all', commands: ['logout'], help: 'log out of every profile' },
  { key: 'accessKey', flag: '--access-key', arg: '<ak>', env: ['AUTHCTL_ACCESS_KEY', 'HUAWEICLOUD_SDK_AK'], commands: ['logintoken'], help: "access key; without one, the profile's user token is used" },
  { key: 'secretKeyStdin', flag: '--secret-key-stdin', env: ['AUTHCTL_SECRET_KEY', 'HUAWEICLOUD_SDK_SK'], secret: true, commands: ['logintoken'], help: 'read the secret key from stdin (else the variable, else a prompt)' },
  { key: 'securityTokenStdin', flag: '--security-token-stdin', env: ['AUTHCTL_SECURITY_TOKEN', 'HUAWEICLOUD_SDK_SECURITY_TOKEN'], secret: true, commands: ['logintoken'], help: 'read the security token from stdin (else the variable)' },
  { key: 'duration', flag: '--duration', arg: '<duration>', defaultValue: '600', commands: ['logintoken'], help: 'lifetime, 600 to 43200 seconds or with a unit: 10m, 12h' },
  { key: 'shell', flag: '--shell', arg: '<shell>', choices: SHELL_NAMES, defaultValue: 'sh', commands: ['export', 'credentials'], help: 'output for this shell or format' },
  { key: 'var', flag: '--var', arg: '<name>', commands: ['export', 'exec'], help: 'name of the variable (default Token)' },
  { key: 'openstack', flag: '--openstack', commands: ['export', 'exec'], help: 'set what OpenStack clients read (OS_AUTH_TYPE, OS_TOKEN, OS_AUTH_URL, the scope, OS_REGION_NAME)' },
  { key: 'expiry', flag: '--expiry', commands: ['export', 'exec'], help: 'also set <VAR>_EXPIRES_AT (ISO-8601 UTC)' },
  { key: 'aksk', flag: '--aksk', commands: ['export', 'exec'], help: "also set the profile's temporary access key: OS_ACCESS_KEY, OS_SECRET_KEY, OS_SECURITY_TOKEN and the HUAWEICLOUD_SDK_* names (OTC, Huawei Cloud)" },
  { key: 'aws', flag: '--aws', commands: ['credentials', 'export', 'exec'], help: 'with the access key: also AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN (S3 clients on OBS)' },
  { key: 'duration', flag: '--duration', arg: '<duration>', defaultValue: '15m', commands: ['credentials', 'export', 'exec'], help: 'lifetime of a new access key: 900 seconds (15m) to 86400 (24h)' },
  { key: 'unset', flag: '--unset', commands: ['export'], help: 'print what removes the variables again' },
  { key: 'check', flag: '--check', commands: ['status'], help: 'ask IAM about each token' },
];

/** The whole table, each row once. */
export const SETTINGS: readonly Setting[] = [...new Set([...GLOBAL_SETTINGS, ...METHOD_SETTINGS, ...COMMAND_SETTINGS])];

export const PROFILE_SCHEMA = profileSchema(SETTINGS);

/** Every variable whose value is a secret: kept from `exec`'s child, never echoed. */
export const SECRET_VARIABLES: readonly string[] = SETTINGS.filter((setting) => setting.secret).flatMap((setting) => setting.env ?? []);

/** A row's help as commander shows it: the line, then the variables and the default. */
export function optionHelp(setting: Setting, path: CommandPath): string {
  const notes = [
    ...(setting.env?.length ? [`env ${setting.env.join(', ')}`] : []),
    ...(setting.defaultValue && !setting.choices ? [`default ${setting.defaultValue}`] : []),
    ...(setting.saved === 'profile' && setting.commands.includes('global') ? ['saved by login'] : []),
  ];
  return `${helpFor(setting, path)}${notes.length ? ` (${notes.join('; ')})` : ''}`;
}

/** The parseArgs options for the given command paths (the fast path parses only `token get` and `export`). */
export function parseArgsOptions(paths: readonly CommandPath[]): Record<string, { type: 'string' | 'boolean'; short?: string }> {
  const options: Record<string, { type: 'string' | 'boolean'; short?: string }> = {};
  for (const setting of SETTINGS) {
    if (setting.flag === undefined || !setting.commands.some((path) => paths.includes(path))) continue;
    options[setting.flag.slice(2)] = { type: setting.arg === undefined ? 'boolean' : 'string', ...(setting.short ? { short: setting.short.slice(1) } : {}) };
  }
  return options;
}

const cell = (text: string) => text.replace(/\|/g, '\\|');

/** README's table of flags and variables (between the `settings-table` markers; a test keeps it in step). */
export function settingsMarkdown(): string {
  const lines = ['| flag | environment | clouds.yaml | commands | what it does |', '|---|---|---|---|---|'];
  for (const setting of SETTINGS) {
    const flag = setting.flag ? `\`${[setting.short, setting.flag].filter(Boolean).join(', ')}${setting.arg ? ` ${setting.arg}` : ''}\`` : '';
    const env = (setting.env ?? []).map((name) => `\`${name}\``).join(', ');
    const clouds = setting.clouds ? `\`${setting.clouds}\`` : '';
    const commands = setting.commands.includes('global') ? 'all' : setting.commands.join(', ');
    const path = setting.commands[0]!;
    const notes = [
      ...(setting.choices ? [`one of ${setting.choices.join(', ')}`] : []),
      ...(setting.defaultValue ? [`default ${setting.defaultValue}`] : []),
      ...(setting.secret ? ['secret'] : []),
      ...(setting.saved === 'profile' ? ['saved in the profile'] : []),
      ...(setting.saved === 'secret-store' ? ['kept in the secret store with the save flag'] : []),
    ];
    const help = typeof setting.help === 'string' ? setting.help : helpFor(setting, path);
    lines.push(`| ${flag} | ${env} | ${clouds} | ${commands} | ${cell(help)}${notes.length ? ` (${notes.join('; ')})` : ''} |`);
  }
  return `${lines.join('\n')}\n`;
}
