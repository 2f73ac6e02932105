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
}

export function checkVariableOptions(opts: VariableOptions): void {
  if (opts.var !== undefined) checkVariableName(opts.var);
  if (opts.var !== undefined && opts.openstack) {
    throw new UsageError('--var and --openstack cannot be used together', { hint: '--openstack sets the OS_* names OpenStack clients read' });
  }
}

/** The names `variables()` can set, for `--unset`. */
export function variableNames(opts: VariableOptions): string[] {
  const base = opts.openstack ? 'OS_TOKEN' : (opts.var ?? 'Token');
  const names = opts.openstack ? [...OPENSTACK_NAMES] : [base];
  return opts.expiry ? [...names, `${base}_EXPIRES_AT`] : names;
}

/**
 * The variables for a token: `Token` (or `--var`), or with `--openstack` what OpenStack's own
 * clients read, as the token's method says.
 */
export function variables(token: CachedToken, opts: VariableOptions, resolved: { method: AuthMethod<Target>; target: Target; region?: string }, secret?: string): Map<string, string> {
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
  return result;
}
