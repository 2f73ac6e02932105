import { UsageError } from '../core/errors.js';
import { isOAuth2Key } from '../core/target.js';
import { isoTime, type CachedToken } from '../core/token.js';
import { checkVariableName } from './formats.js';

/** What `export` and `exec` put in an environment; shared so both always agree. */
export interface VariableOptions {
  var?: string;
  openstack?: boolean;
  expiry?: boolean;
}

/** Everything `--openstack` may set, so `--unset` can remove all of it. */
const OPENSTACK_NAMES = [
  'OS_AUTH_TYPE',
  'OS_TOKEN',
  'OS_AUTH_URL',
  'OS_PROJECT_ID',
  'OS_PROJECT_NAME',
  'OS_PROJECT_DOMAIN_ID',
  'OS_PROJECT_DOMAIN_NAME',
  'OS_DOMAIN_ID',
  'OS_DOMAIN_NAME',
  'OS_REGION_NAME',
] as const;

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
 * clients read for token auth, scoped as the token was issued.
 */
export function variables(token: CachedToken, opts: VariableOptions, region?: string): Map<string, string> {
  const result = new Map<string, string>();
  const base = opts.openstack ? 'OS_TOKEN' : (opts.var ?? 'Token');
  if (opts.openstack) {
    if (isOAuth2Key(token.key)) {
      throw new UsageError('--openstack needs a Keystone token; this profile uses OAuth2 client credentials', { hint: 'drop --openstack' });
    }
    result.set('OS_AUTH_TYPE', 'token');
    result.set('OS_TOKEN', token.token);
    result.set('OS_AUTH_URL', token.issuer);
    if (token.project?.id) result.set('OS_PROJECT_ID', token.project.id);
    else if (token.project?.name) {
      result.set('OS_PROJECT_NAME', token.project.name);
      if (token.project.domain?.id) result.set('OS_PROJECT_DOMAIN_ID', token.project.domain.id);
      else if (token.project.domain?.name) result.set('OS_PROJECT_DOMAIN_NAME', token.project.domain.name);
    } else if (token.domain?.id) result.set('OS_DOMAIN_ID', token.domain.id);
    else if (token.domain?.name) result.set('OS_DOMAIN_NAME', token.domain.name);
    if (region) result.set('OS_REGION_NAME', region);
  } else {
    result.set(base, token.token);
  }
  if (opts.expiry) result.set(`${base}_EXPIRES_AT`, isoTime(token.expiresAt));
  return result;
}
