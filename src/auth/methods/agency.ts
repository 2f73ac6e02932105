import { describeAgency, issueAgencyToken, type AgencyRef, type AgencyScope } from '../../iam/agency.js';
import { CallerTokenRefusedError, NoTokenError, UsageError } from '../../core/errors.js';
import { layer, missingSetting, pick, sourceOf, type Layer, type Missing, type Setting, type Source, type Values } from '../../core/settings.js';
import type { DomainRef } from '../../core/target.js';
import { validateToken } from '../../iam/keystone.js';
import { REGION, SCOPE_SETTINGS } from '../keystone-identity.js';
import { openstackTokenVariables } from '../openstack-variables.js';
import { describeVendorScope, resolveVendorScope, vendorScopeKey, type VendorScopeValues } from '../vendor-scope.js';

const GLOBAL_SERVICES = 'global services (no project)';
import { toCachedToken, type AuthIO, type AuthMethod, type Resolution } from '../method.js';
import { keysThroughAgency } from '../../iam/access-keys.js';
import { iamBase } from '../../iam/logintoken.js';

/**
 * OTC / Huawei Cloud agency (`assume_role`): the token of another profile's user signs for a
 * token that acts in the account that created the agency. Renewed from that profile's token,
 * which is itself renewed (or re-logged with its saved secret) when near expiry.
 */

interface AgencyTarget {
  kind: 'agency';
  sourceProfile: string;
  agency: AgencyRef;
  scope: AgencyScope;
}

interface AgencySettings extends VendorScopeValues {
  agency?: string;
  agencyDomain?: string;
  agencyDomainId?: string;
  sourceProfile?: string;
  region?: string;
}

const row = (setting: Omit<Setting, 'saved' | 'commands'>): Setting => ({ saved: 'profile', commands: ['login'], ...setting });

export const AGENCY_NAME = row({ key: 'agency', flag: '--agency', arg: '<name>', env: ['OS_AGENCY_NAME', 'OS_TARGET_AGENCY_NAME'], help: 'assume this agency (OTC, Huawei Cloud): a role another account granted' });
export const AGENCY_DOMAIN = row({ key: 'agencyDomain', flag: '--agency-domain', arg: '<name>', env: ['OS_AGENCY_DOMAIN_NAME', 'OS_TARGET_DOMAIN_NAME'], help: 'with --agency: the account (domain) that created the agency' });
export const AGENCY_DOMAIN_ID = row({ key: 'agencyDomainId', flag: '--agency-domain-id', arg: '<id>', env: ['OS_AGENCY_DOMAIN_ID'], help: 'with --agency: that account by id' });
export const SOURCE_PROFILE = row({ key: 'sourceProfile', flag: '--source-profile', arg: '<name>', env: ['AUTHCTL_SOURCE_PROFILE'], help: "with --agency: the profile whose user token signs for the agency's" });
export const DELEGATED_PROJECT = row({ key: 'delegatedProject', arg: '<name>', env: ['OS_DELEGATED_PROJECT'], help: "with --agency: the delegating account's project (as the Terraform providers read it; --project and --project-id also do)" });

const AGENCY_SCOPE_KEYS = ['projectId', 'project', 'domainId', 'domain'] as const;
const AGENCY_SCOPE_SETTINGS = SCOPE_SETTINGS.filter((setting) => (AGENCY_SCOPE_KEYS as readonly string[]).includes(setting.key));

const MISSING = {
  agency: missingSetting('agency name', AGENCY_NAME),
  domain: { what: 'the account that created the agency', flag: '--agency-domain or --agency-domain-id', env: 'OS_AGENCY_DOMAIN_NAME or OS_AGENCY_DOMAIN_ID' },
  source: missingSetting('the profile whose token signs for it', SOURCE_PROFILE),
} satisfies Record<string, Missing>;

function domainKey(domain: DomainRef): string[] {
  return 'id' in domain ? ['id', domain.id] : ['name', domain.name];
}

/**
 * Runs `request` with the source profile's token (renewed when near expiry); when IAM refuses
 * that token before its time (revoked, or IAM's clock), once more with a fresh one.
 */
async function withSourceToken<R>(io: AuthIO, target: AgencyTarget, request: (iamUrl: string, token: string, caller: string) => Promise<R>): Promise<{ iamUrl: string; issued: R }> {
  const caller = `profile ${target.sourceProfile}`;
  const source = await io.profileToken(target.sourceProfile);
  if (source.iamUrl === undefined) {
    throw new UsageError(`${caller} is a ${source.label} login; an agency is assumed with a user token of OTC or Huawei Cloud IAM`, { hint: 'give --source-profile a profile that logs in to IAM with a password (or another Keystone method)' });
  }
  const iamUrl = source.iamUrl;
  try {
    return { iamUrl, issued: await request(iamUrl, source.token.token, caller) };
  } catch (error) {
    if (!(error instanceof CallerTokenRefusedError)) throw error;
    const fresh = await io.profileToken(target.sourceProfile, { fresh: true }).catch((renewal: unknown) => {
      if (!(renewal instanceof NoTokenError)) throw renewal;
      throw new NoTokenError(`IAM refused the token of ${caller} (revoked or expired at IAM), and it cannot be renewed without asking`, {
        hint: `run \`authctl login --profile ${target.sourceProfile}\` (to renew silently: log in with --save-password)`,
      });
    });
    return { iamUrl, issued: await request(iamUrl, fresh.token.token, caller) };
  }
}

export const agencyAssumeRole: AuthMethod<AgencyTarget> = {
  kind: 'agency',
  label: 'agency',
  settings: [AGENCY_NAME, AGENCY_DOMAIN, AGENCY_DOMAIN_ID, SOURCE_PROFILE, DELEGATED_PROJECT, ...AGENCY_SCOPE_SETTINGS, REGION],
  // `--agency` names it, or a source profile with an agency; the Terraform providers' OS_AGENCY_NAME
  // beside OS_USERNAME is the user's own login (which an agency profile then signs with).
  names: (values: Values) => values.agency !== undefined && (values.sourceProfile !== undefined || (values.username === undefined && values.userId === undefined)),
  readsCloudsYaml: false,
  authTypes: ['agency'],
  secret: { role: 'agency-source', what: "the source profile's token", setting: SOURCE_PROFILE, selfSupplied: true },

  resolve(layers: readonly Layer[]): Resolution<AgencyTarget> {
    const typed = layers as readonly Layer<AgencySettings>[];
    const settings: Record<string, string | boolean> = { kind: 'agency' };
    const sources: Record<string, Source> = {};
    const take = (key: keyof AgencySettings, from: Layer<AgencySettings>) => {
      settings[key] = from.values[key]!;
      sources[key] = sourceOf(from, key);
    };
    const missing: Missing[] = [];
    const name = typed.find((from) => from.values.agency !== undefined);
    if (name) take('agency', name);
    else missing.push(MISSING.agency);
    const domainLayer = typed.find((from) => from.values.agencyDomainId !== undefined || from.values.agencyDomain !== undefined);
    let domain: DomainRef | undefined;
    if (domainLayer?.values.agencyDomainId !== undefined) {
      take('agencyDomainId', domainLayer);
      domain = { id: domainLayer.values.agencyDomainId };
    } else if (domainLayer?.values.agencyDomain !== undefined) {
      take('agencyDomain', domainLayer);
      domain = { name: domainLayer.values.agencyDomain };
    } else missing.push(MISSING.domain);
    const source = typed.find((from) => from.values.sourceProfile !== undefined);
    if (source) take('sourceProfile', source);
    else missing.push(MISSING.source);
    const scope = resolveVendorScope(typed, take);
    const region = pick(typed, 'region');
    if (region) {
      settings.region = region.value;
      sources.region = region.source;
    }
    const resolution: Resolution<AgencyTarget> = { missing, settings, sources, ...(region ? { region: region.value } : {}) };
    if (missing.length === 0) resolution.target = { kind: 'agency', sourceProfile: source!.values.sourceProfile!, agency: { name: name!.values.agency!, domain: domain! }, scope };
    return resolution;
  },
  check: (target) => target,
  urls: () => ({}),
  identity: (target) => ['via', target.sourceProfile, domainKey(target.agency.domain), target.agency.name],
  scopeKey: (target) => vendorScopeKey(target.scope),

  async authenticate(io, target) {
    const { iamUrl, issued } = await withSourceToken(io, target, (url, token, caller) => issueAgencyToken(io.http, url, token, caller, target.agency, target.scope, io.now));
    return toCachedToken(agencyAssumeRole, target, issued, iamUrl);
  },
  async ask(missing, prompter) {
    const answers: AgencySettings = {};
    for (const item of missing) {
      if (item === MISSING.agency) answers.agency = await prompter.input('Agency name:');
      else if (item === MISSING.domain) answers.agencyDomain = await prompter.input('Account (domain) that created the agency:');
      else if (item === MISSING.source) answers.sourceProfile = await prompter.input('Profile whose token signs for the agency:');
    }
    return answers as Values;
  },
  secretPrompt: () => '',
  describe(settings) {
    const { target } = agencyAssumeRole.resolve([layer('profile', settings as Values)]);
    return {
      iam: settings.sourceProfile ? `via profile ${settings.sourceProfile}` : null,
      user: target ? `${describeAgency(target.agency)}, via profile ${target.sourceProfile}` : null,
      scope: target ? describeVendorScope(target.scope, GLOBAL_SERVICES) : null,
      region: settings.region ?? null,
    };
  },
  summary: (target, token) => ({
    iam: token.issuer,
    who: `${describeAgency(target.agency)} (${token.user?.name ?? 'agency'}), via profile ${target.sourceProfile}`,
    scope: token.project ? `project ${token.project.name ?? token.project.id}` : token.domain ? `domain ${token.domain.name ?? token.domain.id}` : describeVendorScope(target.scope, GLOBAL_SERVICES),
  }),
  can: {
    validate: validateToken,
    openstackVariables: openstackTokenVariables,
    // Agency keys are bought with the user's own token (§8a), not with the agency token.
    temporaryKeys: async (io, target, _current, durationSeconds) =>
      (await withSourceToken(io, target, (url, token, caller) => keysThroughAgency(io.http, iamBase(url), token, caller, target.agency, durationSeconds))).issued,
  },
};
