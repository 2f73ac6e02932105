import { Command, Option } from 'commander';
import type { SecretRegistry } from '../io/redact.js';
import { TOKEN_OUTPUTS } from '../commands/token-get.js';
import { SHELL_NAMES } from '../shell/formats.js';
import { Context, type Deps, type GlobalOptions } from './context.js';

/**
 * The command tree. Only flags are declared here; each action loads its command's module when
 * it runs, so `authctl token get` never loads the login prompts or the config writer.
 */

type Action = (ctx: Context, opts: never, command: Command) => Promise<void>;

function examples(lines: string[]): string {
  return `\nExamples:\n${lines.map((line) => `  ${line}`).join('\n')}\n`;
}

/** `secrets` outlives the command's context so the final error message is redacted too. */
export function buildProgram(deps: Deps, secrets: SecretRegistry): Command {
  const program = new Command('authctl');
  // Before any subcommand exists: subcommands copy these settings when they are created.
  program
    .exitOverride()
    .configureOutput({
      writeOut: (text) => deps.io.stdout.write(text),
      writeErr: (text) => deps.io.stderr.write(text),
      // An unknown `--flag=value` is echoed without its value: it may be a secret typed in the wrong place.
      outputError: (text, write) => write(`authctl: ${text.replace(/^error: /, '').replace(/'(--?[\w-]+)=[^']*'/g, "'$1=…'")}`),
    })
    .description('Get short-lived IAM tokens, keep them in the OS keychain, hand them to the shell.')
    .version(deps.version, '-V, --version', 'print the version')
    .helpOption('-h, --help', 'show help')
    .addHelpCommand(false)
    .option('-p, --profile <name>', 'profile to use (env AUTHCTL_PROFILE; default: the one chosen with `profile use`, else "default")')
    .addOption(new Option('--store <kind>', 'where secrets are kept (env AUTHCTL_STORE)').choices(['keychain', 'file']))
    .option('--timeout <duration>', 'network timeout, e.g. 10s (env AUTHCTL_TIMEOUT; default 10s)')
    .option('--os-cloud <name>', 'read settings from this clouds.yaml entry (env OS_CLOUD)')
    .option('--cacert <file>', 'also trust the CA certificates in this PEM file (env AUTHCTL_CACERT, OS_CACERT; saved by login)')
    .option('--insecure', 'do not verify TLS certificates (warned about on every use; saved by login)')
    .option('--debug', 'log each request to stderr, secrets replaced by fingerprints (env AUTHCTL_DEBUG=1)')
    .showSuggestionAfterError(true)
    .addHelpText(
      'after',
      examples([
        'authctl login --auth-url https://iam.example.com/v3 --username alice --user-domain Fiware --project /smartcity',
        'authctl token get',
        'eval "$(authctl export)"     # sets $Token',
      ]),
    );

  const run =
    (load: () => Promise<Action>) =>
    async (...args: unknown[]): Promise<void> => {
      const command = args[args.length - 1] as Command;
      const opts = command.opts();
      const ctx = new Context(deps, command.optsWithGlobals<GlobalOptions>(), secrets);
      const action = await load();
      await action(ctx, opts as never, command);
    };

  program
    .command('login')
    .description('log in to IAM and keep the token in the keychain')
    .option('--auth-url <url>', 'Keystone v3 base URL (env OS_AUTH_URL)')
    .option('--username <name>', 'user name (env OS_USERNAME)')
    .option('--user-id <id>', 'user id, instead of name and domain (env OS_USER_ID)')
    .option('--user-domain <name>', "user's domain name (env OS_USER_DOMAIN_NAME)")
    .option('--user-domain-id <id>', "user's domain id (env OS_USER_DOMAIN_ID)")
    .option('--project-id <id>', 'scope to a project by id (env OS_PROJECT_ID)')
    .option('--project <name>', 'scope to a project by name (env OS_PROJECT_NAME)')
    .option('--project-domain <name>', "the project's domain; default: the user's (env OS_PROJECT_DOMAIN_NAME)")
    .option('--project-domain-id <id>', "the project's domain id (env OS_PROJECT_DOMAIN_ID)")
    .option('--domain <name>', 'scope to a domain by name (env OS_DOMAIN_NAME)')
    .option('--domain-id <id>', 'scope to a domain by id (env OS_DOMAIN_ID)')
    .option('--unscoped', 'get an unscoped token')
    .option('--region <name>', 'region, kept for `export --openstack` (env OS_REGION_NAME)')
    .option('--password-stdin', 'read the password from stdin (else env OS_PASSWORD, else a prompt)')
    .option('--save-password', 'keep the password in the keychain so tokens renew without asking')
    .option('--client-id <id>', 'log in with OAuth2 client credentials (env AUTHCTL_CLIENT_ID)')
    .option('--client-secret-stdin', 'read the client secret from stdin (else env AUTHCTL_CLIENT_SECRET, else a prompt)')
    .option('--token-url <url>', 'OAuth2 token endpoint (default: {auth-url}/api/v2/tenant/token)')
    .option('--save-secret', 'keep the client secret in the keychain so tokens renew without asking')
    .option('--allow-http', 'allow plain http:// to a host other than loopback')
    .option('--json', 'print what was obtained as JSON on stdout (never the token or password)')
    .addHelpText(
      'after',
      examples([
        'authctl login                                   # asks for what it needs',
        'authctl login --auth-url https://iam.example.com/v3 --username alice --user-domain Fiware --project /smartcity',
        'printf %s "$PASS" | authctl login --password-stdin --project-id 4f1c...',
        'OS_PASSWORD=... authctl login --save-password   # CI: everything from OS_* variables',
        'printf %s "$SECRET" | authctl login --client-id app --client-secret-stdin --token-url https://idp.example.com/token',
      ]),
    )
    .action(run(async () => (await import('../commands/login.js')).loginRun as Action));

  const token = program.command('token').description('print, check or renew the token');
  token
    .command('get')
    .description('print the token (cached while it has --min-ttl left, else renewed without asking)')
    .option('--min-ttl <duration>', 'renew when less than this is left (env AUTHCTL_MIN_TTL; default 5m)')
    .option('--json', 'print the token with its metadata as JSON (same as --output json)')
    .addOption(new Option('--output <format>', 'token (default), json, or exec-credential for kubectl').choices(TOKEN_OUTPUTS))
    .addHelpText(
      'after',
      examples([
        'curl -H "X-Auth-Token: $(authctl token get)" https://api.example.com/v1/things',
        'authctl token get --json | jq .expires_at',
        'authctl token get --output exec-credential      # a kubeconfig exec credential plugin',
      ]),
    )
    .action(run(async () => (await import('../commands/token-get.js')).tokenGetRun as Action));

  token
    .command('check')
    .description('validate the token at IAM (exit 0 valid, 3 invalid/expired/revoked, 4 caller refused, 5 unreachable)')
    .option('--token-stdin', 'check another token, read from stdin, using the profile\'s token to ask')
    .option('--json', 'print the result as JSON')
    .option('-q, --quiet', 'print nothing (HEAD request): the exit code is the answer')
    .option('--offline', 'send nothing; judge from the cached expiry')
    .addHelpText('after', examples(['authctl token check', 'authctl token check --quiet && echo valid', 'printf %s "$OTHER" | authctl token check --token-stdin --json']))
    .action(run(async () => (await import('../commands/token-check.js')).tokenCheckRun as Action));

  token
    .command('renew')
    .description('get a new token now and store it (by password if one is at hand, else from the current token)')
    .option('--project <name>', 'rescope to a project by name')
    .option('--project-id <id>', 'rescope to a project by id')
    .option('--project-domain <name>', "the project's domain (default: the user's)")
    .option('--project-domain-id <id>', "the project's domain id")
    .option('--domain <name>', 'rescope to a domain by name')
    .option('--domain-id <id>', 'rescope to a domain by id')
    .option('--unscoped', 'renew as an unscoped token')
    .option('--json', 'print the new token\'s metadata as JSON (not the token)')
    .addHelpText('after', examples(['authctl token renew', 'authctl token renew --project /other   # rescope; the profile remembers it']))
    .action(run(async () => (await import('../commands/token-renew.js')).tokenRenewRun as Action));

  program
    .command('logout')
    .description('revoke the token at IAM and remove the profile\'s secrets from the store')
    .option('--all', 'log out of every profile')
    .addHelpText('after', examples(['authctl logout', 'authctl logout --all']))
    .action(run(async () => (await import('../commands/logout.js')).logoutRun as Action));

  program
    .command('logintoken')
    .description('print a login token for a custom identity broker (X-Subject-LoginToken)')
    .option('--access-key <ak>', 'access key (env AUTHCTL_ACCESS_KEY, HUAWEICLOUD_SDK_AK); without one, the profile\'s user token is used')
    .option('--secret-key-stdin', 'read the secret key from stdin (else env AUTHCTL_SECRET_KEY, HUAWEICLOUD_SDK_SK, else a prompt)')
    .option('--security-token-stdin', 'read the security token from stdin (else env AUTHCTL_SECURITY_TOKEN, HUAWEICLOUD_SDK_SECURITY_TOKEN)')
    .option('--duration <duration>', 'lifetime, 600 to 43200 seconds or with a unit: 10m, 12h (default 600)')
    .option('--auth-url <url>', 'IAM URL (default: OS_AUTH_URL, else the profile\'s)')
    .option('--allow-http', 'allow plain http:// to a host other than loopback')
    .option('--json', 'print the token and the logintoken object as JSON')
    .addHelpText(
      'after',
      examples([
        'authctl logintoken                       # from the profile\'s user token',
        'AUTHCTL_SECRET_KEY=... AUTHCTL_SECURITY_TOKEN=... authctl logintoken --access-key AK... --duration 1h',
      ]),
    )
    .action(run(async () => (await import('../commands/logintoken.js')).loginTokenRun as Action));

  const variableOptions = (command: Command): Command =>
    command
      .option('--var <name>', 'name of the variable (default Token)')
      .option('--openstack', 'set what OpenStack clients read for token auth: OS_AUTH_TYPE=token, OS_TOKEN, OS_AUTH_URL, the scope, OS_REGION_NAME')
      .option('--expiry', 'also set <VAR>_EXPIRES_AT (ISO-8601 UTC)')
      .option('--min-ttl <duration>', 'renew when less than this is left (env AUTHCTL_MIN_TTL; default 5m)');

  variableOptions(
    program
      .command('export')
      .description('print shell code that sets $Token: eval "$(authctl export)"')
      .addOption(new Option('--shell <shell>', 'output for this shell or format').choices(SHELL_NAMES).default('sh')),
  )
    .option('--unset', 'print what removes the variables again')
    .addHelpText(
      'after',
      examples([
        'eval "$(authctl export)"                          # sh, bash, zsh, dash',
        'authctl export --shell fish | source',
        'authctl export --shell powershell | Invoke-Expression',
        'authctl export --shell dotenv --var API_TOKEN > .env',
        'eval "$(authctl export --openstack)" && openstack server list',
        'eval "$(authctl export --unset)"',
      ]),
    )
    .action(run(async () => (await import('../commands/export.js')).exportRun as Action));

  variableOptions(
    program
      .command('exec')
      .description('run a command with the token in its environment (no shell in between; exits with its exit code)')
      .argument('<command...>', 'the command and its arguments, after --'),
  )
    .addHelpText(
      'after',
      examples([
        "authctl exec -- sh -c 'curl -H \"X-Auth-Token: $Token\" https://api.example.com/v1/things'",
        'authctl exec --var API_TOKEN -- ./deploy.sh',
        'authctl exec --openstack -- openstack server list',
      ]),
    )
    .action(run(async () => (await import('../commands/exec.js')).execRun as Action));

  const profile = program.command('profile').description('list, show, choose or remove profiles');
  profile
    .command('list')
    .description('the profiles, which is the default, and the store each uses')
    .option('--json', 'as JSON')
    .addHelpText('after', examples(['authctl profile list', 'authctl profile list --json | jq -r ".[].name"']))
    .action(run(async () => (await import('../commands/profile.js')).profileListRun as Action));
  profile
    .command('show')
    .description("a profile's settings (never its secrets)")
    .argument('[name]', 'the profile (default: the current one)')
    .option('--json', 'as JSON')
    .addHelpText('after', examples(['authctl profile show', 'authctl profile show work --json']))
    .action(run(async () => (await import('../commands/profile.js')).profileShowRun as Action));
  profile
    .command('use')
    .description('make a profile the default')
    .argument('<name>', 'the profile')
    .addHelpText('after', examples(['authctl profile use work']))
    .action(run(async () => (await import('../commands/profile.js')).profileUseRun as Action));
  profile
    .command('remove')
    .description('log a profile out (revoking its token) and forget it')
    .argument('<name>', 'the profile')
    .addHelpText('after', examples(['authctl profile remove old-project']))
    .action(run(async () => (await import('../commands/profile.js')).profileRemoveRun as Action));

  program
    .command('status')
    .description('every profile: who, what scope, which store, time left (no network unless --check)')
    .option('--check', 'ask IAM about each token')
    .option('--json', 'as JSON')
    .addHelpText('after', examples(['authctl status', 'authctl status --check --json']))
    .action(run(async () => (await import('../commands/status.js')).statusRun as Action));

  program
    .command('completion')
    .description('print the completion script for a shell: bash, zsh or fish')
    .argument('<shell>', 'bash, zsh or fish')
    .addHelpText(
      'after',
      examples([
        'authctl completion bash > ~/.local/share/bash-completion/completions/authctl',
        'authctl completion zsh > "${fpath[1]}/_authctl"',
        'authctl completion fish > ~/.config/fish/completions/authctl.fish',
      ]),
    )
    .action(run(async () => (await import('../commands/completion.js')).completionRun as Action));

  // Called by the completion scripts at TAB time: profile names, one per line.
  program
    .command('__complete-profiles', { hidden: true })
    .action(run(async () => (await import('../commands/completion.js')).completeProfilesRun as Action));

  return program;
}
