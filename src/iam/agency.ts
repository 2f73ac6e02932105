import { CallerTokenRefusedError, RejectedError } from '../core/errors.js';
import type { DomainRef } from '../core/target.js';
import type { IssuedToken } from '../core/token.js';
import type { HttpClient } from './http.js';
import { readTokenResponse, tokensUrl } from './keystone.js';
import { vendorScopeJson, type VendorScope } from './vendor-scope.js';
import { responseError, serverMessage } from './response.js';

/**
 * OTC / Huawei Cloud agencies (iam-api.md §8): a user of account B, holding the Agent Operator
 * policy, signs `methods: ["assume_role"]` with its own token and gets a token that acts in
 * account A, which created the agency.
 */

export interface AgencyRef {
  name: string;
  /** Account A: the domain that created the agency. */
  domain: DomainRef;
}

/** What an agency token is scoped to: a project or the domain of account A; none is a global-services token. */
export type AgencyScope = VendorScope;

const JSON_UTF8 = { 'content-type': 'application/json;charset=utf8', accept: 'application/json' };

export function assumeRole(agency: AgencyRef): Record<string, string> {
  return { ...('id' in agency.domain ? { domain_id: agency.domain.id } : { domain_name: agency.domain.name }), agency_name: agency.name };
}

export function agencyTokenBody(agency: AgencyRef, scope: AgencyScope): { auth: Record<string, unknown> } {
  const scopeMember = vendorScopeJson(scope);
  const identity = { methods: ['assume_role'], assume_role: assumeRole(agency) };
  return { auth: scopeMember ? { identity, scope: scopeMember } : { identity } };
}

export function describeAgency(agency: AgencyRef): string {
  return `agency ${agency.name} of ${'id' in agency.domain ? `domain id ${agency.domain.id}` : `domain ${agency.domain.name}`}`;
}

/** Maps the answers §8 documents for a failed agency request (also §8a's) onto errors that say what to fix. */
export function agencyError(status: number, body: string, action: string, agency: AgencyRef, caller: string): Error {
  const said = serverMessage(body);
  const detail = said ? ` (IAM: ${said})` : '';
  if (status === 401) return new CallerTokenRefusedError(`${action} was rejected: IAM refused the token of ${caller}${detail}`, { hint: `log in to ${caller} again` });
  if (status === 403) {
    return new RejectedError(`${action} was rejected: the user of ${caller} may not act through ${describeAgency(agency)}${detail}`, {
      hint: 'the user needs the Agent Operator role, and the scope must be a project or the domain of the delegating account',
    });
  }
  if (status === 404) {
    return new RejectedError(`${action} failed: IAM knows no ${describeAgency(agency)}${detail}`, { hint: 'check --agency and --agency-domain (the account that created the agency)' });
  }
  return responseError({ status, body, headers: {} }, { action, rejectedHint: 'check the agency settings' });
}

export async function issueAgencyToken(http: HttpClient, authUrl: string, callerToken: string, caller: string, agency: AgencyRef, scope: AgencyScope, now: () => number): Promise<IssuedToken> {
  const response = await http.send({
    method: 'POST',
    url: `${tokensUrl(authUrl)}?nocatalog=true`,
    headers: { ...JSON_UTF8, 'x-auth-token': callerToken },
    body: JSON.stringify(agencyTokenBody(agency, scope)),
  });
  const received = now();
  if (response.status !== 201 && response.status !== 200) throw agencyError(response.status, response.body, `assuming ${describeAgency(agency)} at ${authUrl}`, agency, caller);
  return readTokenResponse(response, new URL(authUrl).origin, received);
}
