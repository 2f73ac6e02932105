/**
 * The targets of the Keystone and OAuth2 methods: which IAM, which identity, which scope. A cached
 * token is served only to the exact target it was issued for (`cacheKey` in src/auth/method.ts).
 */

export type DomainRef = { id: string } | { name: string };

export type UserRef = { id: string } | { name: string; domain: DomainRef };

export type Scope =
  | { kind: 'project'; id: string }
  | { kind: 'project'; name: string; domain: DomainRef }
  | { kind: 'domain'; domain: DomainRef }
  | { kind: 'system' }
  | { kind: 'trust'; trustId: string }
  | { kind: 'unscoped' };

export interface KeystoneTarget {
  kind: 'keystone';
  /** The Keystone v3 base, without a trailing slash, e.g. `https://iam.example.com/v3`. */
  authUrl: string;
  user: UserRef;
  scope: Scope;
  /**
   * The user's id when the user is named by name: from the profile's last login. OTC and Huawei
   * Cloud check a virtual-MFA passcode against it (`totp.user.id`).
   */
  knownUserId?: string;
}

/** How an OAuth2 client proves itself: HTTP Basic (RFC 6749 §2.3.1) or the secret in the form body. */
export type ClientAuth = 'basic' | 'post';

export interface OAuth2Target {
  kind: string;
  tokenUrl: string;
  clientId: string;
  clientAuth: ClientAuth;
  scope?: string;
  audience?: string;
}

export function describeDomain(domain: DomainRef): string {
  return 'id' in domain ? `domain id ${domain.id}` : `domain ${domain.name}`;
}

export function describeUser(user: UserRef): string {
  return 'id' in user ? `user id ${user.id}` : `${user.name} (${describeDomain(user.domain)})`;
}

/** A name IAM gave (a token's user, project or domain), with or without its domain. */
export interface IamName {
  id?: string;
  name?: string;
  domain?: { id?: string; name?: string };
}

function iamDomain(ref: IamName): string {
  if (ref.domain?.name !== undefined) return `domain ${ref.domain.name}`;
  return ref.domain?.id !== undefined ? `domain id ${ref.domain.id}` : '';
}

/**
 * The one way a person is shown a user, as `describeUser` shows a configured one: `alice (domain
 * Default)`, or `user id 1f0c...` without a name. The login summary, `status`, `profile show`,
 * `token check` and the password prompt all say it so (never `alice@Default`: user names may be
 * e-mail addresses).
 */
export function describeIamUser(user: IamName): string {
  const domain = iamDomain(user);
  if (user.name === undefined) return `user id ${user.id ?? '-'}`;
  return domain ? `${user.name} (${domain})` : user.name;
}

/** A project as `describeScope` shows a configured one: `project demo in domain Default`. */
export function describeIamProject(project: IamName): string {
  const domain = iamDomain(project);
  const label = project.name !== undefined ? `project ${project.name}` : `project id ${project.id ?? '-'}`;
  return domain ? `${label} in ${domain}` : label;
}

export function describeScope(scope: Scope): string {
  switch (scope.kind) {
    case 'unscoped':
      return 'unscoped';
    case 'domain':
      return describeDomain(scope.domain);
    case 'system':
      return 'system (all)';
    case 'trust':
      return `trust ${scope.trustId}`;
    case 'project':
      return 'id' in scope ? `project id ${scope.id}` : `project ${scope.name} in ${describeDomain(scope.domain)}`;
  }
}
