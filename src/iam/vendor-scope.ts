import type { DomainRef } from '../core/target.js';

/**
 * What an OTC / Huawei Cloud token beyond Keystone's (agency, ID-token exchange) is scoped to: a
 * project or a domain, each by id or by name alone (project names are unique there); none is a
 * domain-level ("global services") or unscoped token.
 */
export type VendorScope = { kind: 'project'; id: string } | { kind: 'project'; name: string } | { kind: 'domain'; domain: DomainRef } | { kind: 'unscoped' };

/** The request's `scope` member, or undefined for none. */
export function vendorScopeJson(scope: VendorScope): Record<string, unknown> | undefined {
  if (scope.kind === 'unscoped') return undefined;
  if (scope.kind === 'domain') return { domain: 'id' in scope.domain ? { id: scope.domain.id } : { name: scope.domain.name } };
  return { project: 'id' in scope ? { id: scope.id } : { name: scope.name } };
}
