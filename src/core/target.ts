/**
 * What a token is for: which IAM, which identity, which scope. A cached token is served only to
 * the exact target it was issued for, compared through `targetKey`.
 */

export type DomainRef = { id: string } | { name: string };

export type UserRef = { id: string } | { name: string; domain: DomainRef };

export type Scope =
  | { kind: 'project'; id: string }
  | { kind: 'project'; name: string; domain: DomainRef }
  | { kind: 'domain'; domain: DomainRef }
  | { kind: 'unscoped' };

export interface KeystoneTarget {
  kind: 'keystone';
  /** The Keystone v3 base, without a trailing slash, e.g. `https://iam.example.com/v3`. */
  authUrl: string;
  user: UserRef;
  scope: Scope;
}

export interface OAuth2Target {
  kind: 'oauth2';
  tokenUrl: string;
  clientId: string;
}

export type Target = KeystoneTarget | OAuth2Target;

/** A stable string identifying a target; key order is fixed so equal targets give equal keys. */
export function targetKey(target: Target): string {
  if (target.kind === 'oauth2') return JSON.stringify(['oauth2', target.tokenUrl, target.clientId]);
  return JSON.stringify(['keystone', target.authUrl, userKey(target.user), scopeKey(target.scope)]);
}

/** Whether a cached token's key is an OAuth2 client-credentials one (no Keystone scope, no revocation). */
export function isOAuth2Key(key: string): boolean {
  return key.startsWith('["oauth2"');
}

/** Whether two keys name the same IAM and identity, whatever their scopes. */
export function sameIdentity(key: string, other: string): boolean {
  try {
    return JSON.stringify((JSON.parse(key) as unknown[]).slice(0, 3)) === JSON.stringify((JSON.parse(other) as unknown[]).slice(0, 3));
  } catch {
    return false;
  }
}

function domainKey(domain: DomainRef): string[] {
  return 'id' in domain ? ['id', domain.id] : ['name', domain.name];
}

function userKey(user: UserRef): unknown[] {
  return 'id' in user ? ['id', user.id] : ['name', user.name, domainKey(user.domain)];
}

function scopeKey(scope: Scope): unknown[] {
  switch (scope.kind) {
    case 'unscoped':
      return ['unscoped'];
    case 'domain':
      return ['domain', domainKey(scope.domain)];
    case 'project':
      return 'id' in scope ? ['project', 'id', scope.id] : ['project', 'name', scope.name, domainKey(scope.domain)];
  }
}

export function describeDomain(domain: DomainRef): string {
  return 'id' in domain ? `domain id ${domain.id}` : `domain ${domain.name}`;
}

export function describeUser(user: UserRef): string {
  return 'id' in user ? `user id ${user.id}` : `${user.name} (${describeDomain(user.domain)})`;
}

export function describeScope(scope: Scope): string {
  switch (scope.kind) {
    case 'unscoped':
      return 'unscoped';
    case 'domain':
      return describeDomain(scope.domain);
    case 'project':
      return 'id' in scope ? `project id ${scope.id}` : `project ${scope.name} in ${describeDomain(scope.domain)}`;
  }
}
