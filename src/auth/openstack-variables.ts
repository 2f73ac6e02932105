import type { CachedToken } from '../core/token.js';

/** Everything `export --openstack` may set, so `--unset` can remove all of it. */
export const OPENSTACK_NAMES = [
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
  'OS_APPLICATION_CREDENTIAL_ID',
  'OS_APPLICATION_CREDENTIAL_NAME',
  'OS_APPLICATION_CREDENTIAL_SECRET',
  'OS_USERNAME',
  'OS_USER_ID',
  'OS_USER_DOMAIN_NAME',
  'OS_USER_DOMAIN_ID',
] as const;

/** What OpenStack's own clients read for token auth, scoped as a Keystone token was issued. */
export function openstackTokenVariables(token: CachedToken, region: string | undefined): Map<string, string> {
  const result = new Map<string, string>();
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
  return result;
}
