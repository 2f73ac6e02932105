import type { Layer } from '../core/settings.js';
import type { VendorScope } from '../iam/vendor-scope.js';

export type { VendorScope };

export interface VendorScopeValues {
  projectId?: string;
  /** An agency's project as the Terraform providers name it (OS_DELEGATED_PROJECT): before a project name of the same layer. */
  delegatedProject?: string;
  project?: string;
  domainId?: string;
  domain?: string;
  unscoped?: boolean;
}

/** The scope from the first layer naming one: a project by id or name, or a domain; `take` records where it came from. */
export function resolveVendorScope<V extends VendorScopeValues>(layers: readonly Layer<V>[], take: (key: keyof VendorScopeValues, from: Layer<V>) => void): VendorScope {
  for (const from of layers) {
    const v = from.values;
    if (v.projectId !== undefined) return take('projectId', from), { kind: 'project', id: v.projectId };
    if (v.delegatedProject !== undefined) return take('delegatedProject', from), { kind: 'project', name: v.delegatedProject };
    if (v.project !== undefined) return take('project', from), { kind: 'project', name: v.project };
    if (v.domainId !== undefined) return take('domainId', from), { kind: 'domain', domain: { id: v.domainId } };
    if (v.domain !== undefined) return take('domain', from), { kind: 'domain', domain: { name: v.domain } };
    if (v.unscoped) return take('unscoped', from), { kind: 'unscoped' };
  }
  return { kind: 'unscoped' };
}

export function describeVendorScope(scope: VendorScope, none = 'unscoped'): string {
  if (scope.kind === 'unscoped') return none;
  if (scope.kind === 'domain') return 'id' in scope.domain ? `domain id ${scope.domain.id}` : `domain ${scope.domain.name}`;
  return 'id' in scope ? `project id ${scope.id}` : `project ${scope.name}`;
}

export function vendorScopeKey(scope: VendorScope): unknown[] {
  if (scope.kind === 'unscoped') return ['unscoped'];
  if (scope.kind === 'domain') return ['domain', 'id' in scope.domain ? ['id', scope.domain.id] : ['name', scope.domain.name]];
  return ['project', ...('id' in scope ? ['id', scope.id] : ['name', scope.name])];
}
