import { UsageError } from '../core/errors.js';
import type { ProfileSettings } from '../core/profile-settings.js';
import { terminalSafe } from '../io/terminal-safe.js';
import type { Context } from '../session/context.js';
import { savedMethod } from '../session/profile.js';
import { validateProfileName } from '../store/config.js';
import { logOutProfile } from './logout.js';
import { jsonOutput } from '../util/json-output.js';

export interface ProfileListOptions {
  json?: boolean;
}

/** A profile as `profile list`, `profile show` and `status` describe it: settings only, no secrets. */
export interface ProfileSummary {
  name: string;
  default: boolean;
  /** The auth method's kind, as saved. */
  kind: string;
  /** The auth method, as a person reads it. */
  method: string;
  store: string;
  /** The auth URL, or the OAuth2 token URL. */
  iam: string | null;
  user: string | null;
  scope: string | null;
  region: string | null;
}

export function summarise(name: string, settings: ProfileSettings, defaultName: string, store: string): ProfileSummary {
  const method = savedMethod(settings)!;
  return { name, default: name === defaultName, kind: method.kind, method: method.label, store, ...method.describe(settings) };
}

/** Left-aligned columns for a person; the header is the first row. */
export function table(cells: string[][]): string {
  // Names come from IAM and from the config file: shown escaped, never as terminal controls.
  const rows = cells.map((row) => row.map(terminalSafe));
  const widths = rows[0]!.map((_, column) => Math.max(...rows.map((row) => row[column]!.length)));
  return rows.map((row) => row.map((cell, column) => (column === row.length - 1 ? cell : cell.padEnd(widths[column]!))).join('  ').trimEnd()).join('\n') + '\n';
}

async function summaries(ctx: Context): Promise<ProfileSummary[]> {
  const config = (await ctx.config()).read();
  const defaultName = config.defaultProfile ?? 'default';
  return Object.entries(config.profiles).map(([name, settings]) => summarise(name, settings, defaultName, ctx.storeKind(settings.store)));
}

export async function profileListRun(ctx: Context, opts: ProfileListOptions): Promise<void> {
  const list = await summaries(ctx);
  if (opts.json) {
    ctx.io.stdout.write(jsonOutput(list, 2));
    return;
  }
  if (list.length === 0) {
    ctx.reporter.info('no profiles yet: `authctl login` creates one');
    return;
  }
  const rows = list.map((p) => [`${p.default ? '*' : ' '} ${p.name}`, p.kind, p.store, p.iam ?? '-', p.user ?? '-', p.scope ?? '-']);
  ctx.io.stdout.write(table([['  PROFILE', 'KIND', 'STORE', 'IAM', 'USER', 'SCOPE'], ...rows]));
}

export async function profileShowRun(ctx: Context, opts: ProfileListOptions, command: { args: string[] }): Promise<void> {
  const name = command.args[0] ?? (await ctx.profileName());
  const summary = (await summaries(ctx)).find((p) => p.name === name);
  if (!summary) throw await unknownProfile(ctx, name);
  const settings = (await ctx.config()).profile(name)!;
  if (opts.json) {
    ctx.io.stdout.write(jsonOutput({ ...summary, settings }, 2));
    return;
  }
  const rows: [string, string][] = [
    ['profile', `${summary.name}${summary.default ? ' (default)' : ''}`],
    ['kind', summary.method],
    ['store', summary.store],
    ['iam', summary.iam ?? '-'],
    ['user', summary.user ?? '-'],
  ];
  if (summary.scope !== null || savedMethod(settings)?.can.rescope) rows.push(['scope', summary.scope ?? '-']);
  if (summary.region) rows.push(['region', summary.region]);
  if (settings.cacert) rows.push(['cacert', settings.cacert]);
  if (settings.insecure) rows.push(['insecure', 'yes (TLS certificates are not verified)']);
  const width = Math.max(...rows.map(([key]) => key.length)) + 1;
  ctx.io.stdout.write(rows.map(([key, value]) => `${`${key}:`.padEnd(width)} ${terminalSafe(value)}\n`).join(''));
}

export async function profileUseRun(ctx: Context, _opts: unknown, command: { args: string[] }): Promise<void> {
  const name = validateProfileName(command.args[0]!);
  const config = await ctx.config();
  if (!config.profile(name)) throw await unknownProfile(ctx, name);
  await config.update((data) => {
    data.defaultProfile = name;
  });
  ctx.reporter.success(`profile ${name} is now the default`);
}

/** Forgets a profile: revokes its token where IAM can be reached, removes its secrets and settings. */
export async function profileRemoveRun(ctx: Context, _opts: unknown, command: { args: string[] }): Promise<void> {
  const name = validateProfileName(command.args[0]!);
  const config = await ctx.config();
  if (!config.profile(name)) throw await unknownProfile(ctx, name);
  const failure = await logOutProfile(ctx, name);
  await config.update((data) => {
    delete data.profiles[name];
    if (data.defaultProfile === name) delete data.defaultProfile;
  });
  ctx.reporter.success(`profile ${name} removed`);
  if (failure) throw failure;
}

async function unknownProfile(ctx: Context, name: string): Promise<UsageError> {
  const names = Object.keys((await ctx.config()).read().profiles);
  return new UsageError(`there is no profile ${JSON.stringify(name)}`, {
    hint: names.length ? `profiles: ${names.join(', ')}` : 'there are no profiles yet: `authctl login` creates one',
  });
}
