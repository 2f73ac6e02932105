import type { AuthMethod, Target } from '../auth/method.js';
import { OPENSTACK_NAMES } from '../auth/openstack-variables.js';
import { UsageError } from '../core/errors.js';
import { isoTime, type CachedToken } from '../core/token.js';
import { checkVariableName } from './formats.js';

/** What `export` and `exec` put in an environment; shared so both always agree. */
export interface VariableOptions {
  var?: string;
  openstack?: boolean;
  expiry?: boolean;
  /** Also the profile's temporary access keys. */
  aksk?: boolean;
  /** With the keys: also the AWS names S3 clients read. */
  aws?: boolean;
}

/** Where SDKs, Terraform providers, KooCLI and S3 clients look for a temporary access key, secret and security token. */
/** A temporary access key as IAM hands it out (src/iam/access-keys.ts). */
interface AccessKey {
  access: string;
  secret: string;
  securityToken: string;
}

export const ACCESS_KEY_NAMES = {
  access: ['OS_ACCESS_KEY', 'HUAWEICLOUD_SDK_AK'],
  secret: ['OS_SECRET_KEY', 'HUAWEICLOUD_SDK_SK'],
  securityToken: ['OS_SECURITY_TOKEN', 'HUAWEICLOUD_SDK_SECURITY_TOKEN'],
} as const;
export const AWS_KEY_NAMES = { access: 'AWS_ACCESS_KEY_ID', secret: 'AWS_SECRET_ACCESS_KEY', securityToken: 'AWS_SESSION_TOKEN' } as const;

export function keyVariableNames(aws: boolean): string[] {
  const names: string[] = [...ACCESS_KEY_NAMES.access, ...ACCESS_KEY_NAMES.secret, ...ACCESS_KEY_NAMES.securityToken];
  return aws ? [...names, AWS_KEY_NAMES.access, AWS_KEY_NAMES.secret, AWS_KEY_NAMES.securityToken] : names;
}

/** The three values always together, under every name that reads them. */
export function keyVariables(keys: AccessKey, aws: boolean): Map<string, string> {
  const result = new Map<string, string>();
  for (const part of ['access', 'secret', 'securityToken'] as const) {
    for (const name of ACCESS_KEY_NAMES[part]) result.set(name, keys[part]);
    if (aws) result.set(AWS_KEY_NAMES[part], keys[part]);
  }
  return result;
}

export function checkVariableOptions(opts: VariableOptions): void {
  if (opts.var !== undefined) checkVariableName(opts.var);
  if (opts.var !== undefined && opts.openstack) {
    throw new UsageError('--var and --openstack cannot be used together', { hint: '--openstack sets the OS_* names OpenStack clients read' });
  }
  if (opts.aws && !opts.aksk) throw new UsageError('--aws names the access keys, which --aksk adds', { hint: 'add --aksk (or use `authctl credentials --aws`)' });
}

/** The names `variables()` can set, for `--unset`. */
export function variableNames(opts: VariableOptions): string[] {
  const base = opts.openstack ? 'OS_TOKEN' : (opts.var ?? 'Token');
  const names = opts.openstack ? [...OPENSTACK_NAMES] : [base];
  return [...names, ...(opts.expiry ? [`${base}_EXPIRES_AT`] : []), ...(opts.aksk ? keyVariableNames(Boolean(opts.aws)) : [])];
}

/**
 * The variables for a token: `Token` (or `--var`), or with `--openstack` what OpenStack's own
 * clients read, as the token's method says.
 */
export function variables(token: CachedToken, opts: VariableOptions, resolved: { method: AuthMethod<Target>; target: Target; region?: string }, secret?: string, keys?: AccessKey): Map<string, string> {
  const base = opts.openstack ? 'OS_TOKEN' : (opts.var ?? 'Token');
  let result: Map<string, string>;
  if (opts.openstack) {
    const openstack = resolved.method.can.openstackVariables;
    if (!openstack) throw new UsageError(`--openstack needs a Keystone token; this profile uses ${resolved.method.label}`, { hint: 'drop --openstack' });
    result = openstack(token, resolved.region, resolved.target, secret);
  } else {
    result = new Map([[base, token.token]]);
  }
  if (opts.expiry) result.set(`${base}_EXPIRES_AT`, isoTime(token.expiresAt));
  if (keys) for (const [name, value] of keyVariables(keys, Boolean(opts.aws))) result.set(name, value);
  return result;
}
