import { CallerTokenRefusedError, UnreachableError } from '../core/errors.js';
import type { ProfileSettings } from '../core/profile-settings.js';
import type { NamedRef } from '../core/token.js';
import type { HttpClient, HttpResponse } from './http.js';
import { parseJsonBody, responseError } from './response.js';

/**
 * What the token's user may scope a token to: `GET {authUrl}/auth/projects` and
 * `GET {authUrl}/auth/domains` (Keystone, OTC, Huawei Cloud; iam-api.md §11), with any token of
 * the user, scoped or not. Keystone lists the projects and domains where the user (or one of its
 * groups) has a role.
 */

export interface AuthProject {
  id: string;
  name: string;
  domainId: string | undefined;
}

export interface AuthDomain {
  id: string;
  name: string;
}

/** The answer; a 401 is IAM refusing the token itself (revoked, or expired before its time). */
async function list(http: HttpClient, authUrl: string, token: string, collection: 'projects' | 'domains'): Promise<HttpResponse> {
  const response = await http.send({ method: 'GET', url: `${authUrl}/auth/${collection}`, headers: { accept: 'application/json', 'x-auth-token': token } });
  if (response.status === 401) {
    const refused = responseError(response, { action: `listing your ${collection} at ${authUrl}`, rejectedHint: 'the token was refused: log in again' });
    throw new CallerTokenRefusedError(refused.message, { hint: refused.hint });
  }
  return response;
}

/** The entries of `{"<collection>": [{id, name, enabled, ...}]}` that are enabled and named; anything else is a malformed answer. */
function entries(response: HttpResponse, authUrl: string, collection: 'projects' | 'domains'): Record<string, unknown>[] {
  const origin = new URL(authUrl).origin;
  const body = parseJsonBody(response, origin) as Record<string, unknown> | null;
  const items = body?.[collection];
  if (!Array.isArray(items)) throw new UnreachableError(`${origin} answered GET /auth/${collection} without a "${collection}" list`, { hint: 'check that the URL points at a Keystone v3 service' });
  return items.filter(
    (item): item is Record<string, unknown> =>
      typeof item === 'object' && item !== null && typeof item.id === 'string' && typeof item.name === 'string' && item.enabled !== false && item.is_domain !== true,
  );
}

/** The projects the token's user has a role on, sorted by name. */
export async function listAuthProjects(http: HttpClient, authUrl: string, token: string): Promise<AuthProject[]> {
  const response = await list(http, authUrl, token, 'projects');
  if (response.status !== 200) throw responseError(response, { action: `listing your projects at ${authUrl}`, rejectedHint: 'the token was refused: log in again' });
  return entries(response, authUrl, 'projects')
    .map((item) => ({ id: item.id as string, name: item.name as string, domainId: typeof item.domain_id === 'string' ? item.domain_id : undefined }))
    .sort((a, b) => a.name.localeCompare(b.name) || a.id.localeCompare(b.id));
}

/**
 * The domains the token's user has a role on, sorted by name. An IAM without the endpoint
 * (404, 405, 501) has none to offer; any other failure is one.
 */
export async function listAuthDomains(http: HttpClient, authUrl: string, token: string): Promise<AuthDomain[]> {
  const response = await list(http, authUrl, token, 'domains');
  if (response.status === 404 || response.status === 405 || response.status === 501) return [];
  if (response.status !== 200) throw responseError(response, { action: `listing your domains at ${authUrl}`, rejectedHint: 'the token was refused: log in again' });
  return entries(response, authUrl, 'domains')
    .map((item) => ({ id: item.id as string, name: item.name as string }))
    .sort((a, b) => a.name.localeCompare(b.name) || a.id.localeCompare(b.id));
}

/** A project or domain a user may scope a token to. */
export interface ScopeChoice {
  kind: 'project' | 'domain';
  id: string;
  name: string;
  /** A project's domain, with its name when IAM told it. */
  domain?: { id: string; name?: string };
  /** How a profile saves this scope: `{project, projectDomain}` (`projectDomainId` when the name is unknown), `{domain}`. */
  settings: ProfileSettings;
}

/**
 * The user's projects, then domains, as scopes to choose from. `/auth/projects` names a project's
 * domain by id only; the names come from the domains listed and from those the token names (the
 * user's own), so a project in the user's domain is saved as `project` in `projectDomain`.
 */
export async function listScopeChoices(http: HttpClient, authUrl: string, token: string, knownDomains: readonly (NamedRef | undefined)[] = []): Promise<ScopeChoice[]> {
  const [projects, domains] = await Promise.all([listAuthProjects(http, authUrl, token), listAuthDomains(http, authUrl, token)]);
  const names = new Map<string, string>();
  for (const known of [...knownDomains, ...domains]) if (known?.id !== undefined && known.name !== undefined) names.set(known.id, known.name);
  const choices: ScopeChoice[] = projects.map((project) => {
    const domainName = project.domainId === undefined ? undefined : names.get(project.domainId);
    const settings: ProfileSettings = { project: project.name };
    if (domainName !== undefined) settings.projectDomain = domainName;
    else if (project.domainId !== undefined) settings.projectDomainId = project.domainId;
    else return { kind: 'project', id: project.id, name: project.name, settings: { projectId: project.id } };
    return { kind: 'project', id: project.id, name: project.name, domain: { id: project.domainId!, ...(domainName !== undefined ? { name: domainName } : {}) }, settings };
  });
  for (const domain of domains) choices.push({ kind: 'domain', id: domain.id, name: domain.name, settings: { domain: domain.name } });
  return choices;
}
