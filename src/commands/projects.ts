import { CallerTokenRefusedError, UsageError } from '../core/errors.js';
import type { ScopeChoice } from '../iam/projects.js';
import type { Context } from '../session/context.js';
import { chooseMethod, openProfile } from '../session/profile.js';
import { cachedOrFresh, retryIfRefused, type TokenResult } from '../session/resolve.js';
import { table } from './profile.js';
import { jsonOutput } from '../util/json-output.js';

export interface ProjectsOptions {
  json?: boolean;
}

/** Enough for the two requests: a token closer to its end is renewed first, as `token get` would. */
const MIN_TTL_MS = 60_000;

/** One entry of `--json`: a project or domain, and whether the profile's token is scoped to it. */
interface Listed {
  id: string;
  name: string;
  domain?: { id: string; name: string | null };
  current: boolean;
}

/**
 * The projects and domains the profile's user has a role on (`GET /auth/projects`,
 * `/auth/domains`), with the profile's token, renewed on the way when it must be. The token in
 * use is marked. For scripts, `--json`: `{"profile", "projects": [...], "domains": [...]}`.
 */
export async function projectsRun(ctx: Context, opts: ProjectsOptions): Promise<void> {
  // Said before any token is fetched: renewing one only to refuse would be a wasted request.
  const profile = await openProfile(ctx);
  const chosen = chooseMethod(profile, {}, ctx.env);
  const scopes = chosen.can.scopes;
  if (!scopes) {
    throw new UsageError(`profile ${profile.name} logs in with ${chosen.label}, whose tokens have no projects to choose from`, {
      hint: 'projects are listed for Keystone users (password, TOTP, token or federated logins)',
    });
  }
  const first = await cachedOrFresh(ctx, MIN_TTL_MS);
  const { method, target } = first.resolved;
  // A token IAM refuses (revoked) is dropped from the cache; a new one got silently is tried once.
  const { choices, result } = await retryIfRefused(
    ctx,
    first,
    MIN_TTL_MS,
    async (current: TokenResult): Promise<{ choices: ScopeChoice[]; result: TokenResult }> => ({
      choices: await scopes.list(await ctx.authIO(current.profile, false), target, current.token),
      result: current,
    }),
    (error) => (error instanceof CallerTokenRefusedError ? 401 : undefined),
  );

  const { token } = result;
  const listed = (choice: ScopeChoice): Listed => ({
    id: choice.id,
    name: choice.name,
    ...(choice.domain ? { domain: { id: choice.domain.id, name: choice.domain.name ?? null } } : {}),
    current: choice.kind === 'project' ? token.project?.id === choice.id : token.domain?.id === choice.id,
  });
  const projects = choices.filter((choice) => choice.kind === 'project').map(listed);
  const domains = choices.filter((choice) => choice.kind === 'domain').map(listed);
  if (opts.json) {
    ctx.io.stdout.write(jsonOutput({ profile: result.profile.name, projects, domains }, 2));
    return;
  }
  if (choices.length === 0) {
    ctx.reporter.info(`${method.summary(target, token).who} has no role on any project or domain`);
    return;
  }
  const rows = [
    ...projects.map((entry) => ['project', entry, entry.domain?.name ?? entry.domain?.id ?? '-'] as const),
    ...domains.map((entry) => ['domain', entry, '-'] as const),
  ].map(([kind, entry, domain]) => [`${entry.current ? '*' : ' '} ${kind}`, entry.name, domain, entry.id]);
  ctx.io.stdout.write(table([['  SCOPE', 'NAME', 'DOMAIN', 'ID'], ...rows]));
}
