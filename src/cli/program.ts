import { Command, CommanderError, Option } from 'commander';
import { UsageError } from '../core/errors.js';
import type { CommandPath } from '../core/settings.js';
import type { SecretRegistry } from '../io/redact.js';
import { Context, type GlobalOptions } from '../session/context.js';
import type { Factory } from '../session/factory.js';
import { optionHelp, SETTINGS } from '../settings/table.js';

/**
 * The command tree. Only flags are declared here; each action loads its command's module when
 * it runs, so `authctl token get` never loads the login prompts or the config writer.
 */

type Action = (ctx: Context, opts: never, command: Command) => Promise<void>;

/** The command's options, from the settings table: flag, placeholder, help with variables, choices, default. */
function withSettings(command: Command, path: CommandPath): Command {
  for (const setting of SETTINGS) {
    if (setting.flag === undefined || !setting.commands.includes(path)) continue;
    const flags = `${setting.short ? `${setting.short}, ` : ''}${setting.flag}${setting.arg ? ` ${setting.arg}` : ''}`;
    const option = new Option(flags, optionHelp(setting, path));
    if (setting.choices) option.choices(setting.choices);
    if (setting.choices && setting.defaultValue !== undefined) option.default(setting.defaultValue);
    command.addOption(option);
  }
  return command;
}

/** The command a commander error is about: from the root, each first argument that names a subcommand. */
function failingCommand(program: Command): Command {
  let command = program;
  for (;;) {
    const name = command.args[0];
    const next = command.commands.find((sub) => sub.name() === name || sub.aliases().includes(name ?? ''));
    if (!next) return command;
    command = next;
  }
}

function commandPath(command: Command): string {
  const names: string[] = [];
  for (let at: Command | null = command; at; at = at.parent) names.unshift(at.name());
  return names.join(' ');
}

/**
 * A commander error as authctl reports every error: one line saying what is wrong, one hint
 * saying what to do. Help and --version (exit 0) pass through; so does the help commander shows
 * for a bare group (`authctl`, `authctl token`), which is then a success.
 */
export function commanderFailure(program: Command, error: CommanderError): Error {
  if (error.exitCode === 0) return error;
  if (error.code === 'commander.help') return new CommanderError(0, error.code, error.message);
  const [first = '', ...rest] = error.message.split('\n');
  // An unknown `--flag=value` is echoed without its value: it may be a secret typed in the wrong place.
  let message = first.replace(/^error: /, '').replace(/'(--?[\w-]+)=[^']*'/g, "'$1=…'");
  const suggestion = /\(Did you mean (.+)\?\)/.exec(rest.join(' '))?.[1];
  const command = failingCommand(program);
  const path = commandPath(command);
  const usage = `${path} ${command.usage()}`;
  const didYouMean = suggestion ? `did you mean ${suggestion}? ` : '';
  let hint: string;
  switch (error.code) {
    case 'commander.unknownOption':
      // `authctl exec ls -la`: the option is the command's, which goes after `--`. An unknown
      // option before any command (`authctl exec --expirey -- ...`) is a mistyped one of exec's.
      if (command.name() === 'exec' && command.parent === program && command.args[0] !== undefined && !command.args[0].startsWith('-')) {
        message = `${message}: the command to run and its own options go after --`;
        hint = `authctl exec [options] -- COMMAND [ARGS...], e.g. authctl exec -- ${command.args.join(' ')}`;
      } else {
        hint = `${didYouMean}\`${path} --help\` lists the options`;
      }
      break;
    case 'commander.unknownCommand':
      hint = `${didYouMean}\`${path} --help\` lists the commands`;
      break;
    case 'commander.invalidArgument': {
      // "option '--store <kind>' argument 'x' is invalid. Allowed choices are keychain, file."
      const choices = /\. Allowed choices are (.+)\.$/.exec(message);
      if (choices) message = message.slice(0, choices.index);
      hint = choices ? `use one of: ${choices[1]}` : `usage: ${usage}`;
      break;
    }
    case 'commander.optionMissingArgument':
      hint = `give the option its value; \`${path} --help\` lists them`;
      break;
    default:
      // A missing or extra argument, a missing mandatory option, options that conflict.
      hint = `usage: ${usage}`;
  }
  return new UsageError(message.replace(/\.$/, ''), { hint });
}

function examples(lines: string[]): string {
  return `\nExamples:\n${lines.map((line) => `  ${line}`).join('\n')}\n`;
}

/** `secrets` outlives the command's context so the final error message is redacted too. */
export function buildProgram(factory: Factory, secrets: SecretRegistry): Command {
  const program = new Command('authctl');
  // Before any subcommand exists: subcommands copy these settings when they are created.
  program
    // commander's own errors become UsageErrors, reported like every other error (one line, a hint).
    .exitOverride((error) => {
      throw commanderFailure(program, error);
    })
    .configureOutput({
      writeOut: (text) => factory.io.stdout.write(text),
      // commander writes here only the help it shows for a bare group (`authctl`, `authctl token`):
      // asked for, so on stdout. Its errors go to outputError, silenced: the reporter says them.
      writeErr: (text) => factory.io.stdout.write(text),
      outputError: () => {},
    })
    // `authctl token get --help` lists --profile, --store, ... too: they apply to every command.
    .configureHelp({ showGlobalOptions: true })
    .description('Get short-lived IAM tokens, keep them in the OS keychain, hand them to the shell.')
    .version(factory.version, '-V, --version', 'print the version')
    .helpOption('-h, --help', 'show help')
    .addHelpCommand(false)
    .showSuggestionAfterError(true);
  withSettings(program, 'global')
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
      const ctx = new Context(factory, command.optsWithGlobals<GlobalOptions>(), secrets);
      const action = await load();
      await action(ctx, opts as never, command);
    };

  withSettings(program.command('login'), 'login')
    .description('log in to IAM and keep the token in the keychain')
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
  withSettings(token.command('get'), 'token get')
    .description('print the token (cached while it has --min-ttl left, else renewed without asking)')
    .addHelpText(
      'after',
      examples([
        'curl -H "X-Auth-Token: $(authctl token get)" https://api.example.com/v1/things',
        'authctl token get --json | jq .expires_at',
        'authctl token get --output exec-credential      # a kubeconfig exec credential plugin',
      ]),
    )
    .action(run(async () => (await import('../commands/token-get.js')).tokenGetRun as Action));

  withSettings(token.command('check'), 'token check')
    .description('validate the token at IAM (exit 0 valid, 3 invalid/expired/revoked, 4 caller refused, 5 unreachable)')
    .addHelpText('after', examples(['authctl token check', 'authctl token check --quiet && echo valid', 'printf %s "$OTHER" | authctl token check --token-stdin --json']))
    .action(run(async () => (await import('../commands/token-check.js')).tokenCheckRun as Action));

  withSettings(token.command('renew'), 'token renew')
    .description('get a new token now and store it (by password if one is at hand, else from the current token)')
    .addHelpText('after', examples(['authctl token renew', 'authctl token renew --project /other   # rescope; the profile remembers it']))
    .action(run(async () => (await import('../commands/token-renew.js')).tokenRenewRun as Action));

  withSettings(program.command('logout'), 'logout')
    .description('revoke the token at IAM and remove the profile\'s secrets from the store')
    .addHelpText('after', examples(['authctl logout', 'authctl logout --all']))
    .action(run(async () => (await import('../commands/logout.js')).logoutRun as Action));

  withSettings(program.command('logintoken'), 'logintoken')
    .description('print a login token for a custom identity broker (X-Subject-LoginToken)')
    .addHelpText(
      'after',
      examples([
        'authctl logintoken                       # from the profile\'s user token',
        'AUTHCTL_SECRET_KEY=... AUTHCTL_SECURITY_TOKEN=... authctl logintoken --access-key AK... --duration 1h',
      ]),
    )
    .action(run(async () => (await import('../commands/logintoken.js')).loginTokenRun as Action));

  withSettings(program.command('export'), 'export')
    .description('print shell code that sets $Token: eval "$(authctl export)"')
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

  withSettings(program.command('exec'), 'exec')
    .description('run a command with the token in its environment (no shell in between; exits with its exit code); with none, your $SHELL')
    .argument('[command...]', 'the command and its arguments, after -- (none: $SHELL, else /bin/sh)')
    .usage('[options] [-- COMMAND [ARGS...]]')
    .addHelpText(
      'after',
      examples([
        'authctl exec                                      # $SHELL with $Token set; `exit` returns',
        "authctl exec -- sh -c 'curl -H \"X-Auth-Token: $Token\" https://api.example.com/v1/things'",
        'authctl exec --var API_TOKEN -- ./deploy.sh',
        'authctl exec --openstack -- openstack server list',
      ]),
    )
    .action(run(async () => (await import('../commands/exec.js')).execRun as Action));

  withSettings(program.command('credentials'), 'credentials')
    .description('print shell code that sets a temporary access key (AK/SK and security token) from the profile\'s token (OTC, Huawei Cloud)')
    .addHelpText(
      'after',
      examples([
        'eval "$(authctl credentials)"                     # OS_ACCESS_KEY, OS_SECRET_KEY, OS_SECURITY_TOKEN, HUAWEICLOUD_SDK_*',
        'eval "$(authctl credentials --aws --duration 1h)"   # also AWS_* for S3 clients on OBS',
        'authctl exec --aksk -- terraform apply',
      ]),
    )
    .action(run(async () => (await import('../commands/credentials.js')).credentialsRun as Action));

  const profile = program.command('profile').description('list, show, choose or remove profiles');
  withSettings(profile.command('list'), 'profile list')
    .description('the profiles, which is the default, and the store each uses')
    .addHelpText('after', examples(['authctl profile list', 'authctl profile list --json | jq -r ".[].name"']))
    .action(run(async () => (await import('../commands/profile.js')).profileListRun as Action));
  withSettings(profile.command('show'), 'profile show')
    .description("a profile's settings (never its secrets)")
    .argument('[name]', 'the profile (default: the current one)')
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

  withSettings(program.command('status'), 'status')
    .description('every profile: who, what scope, which store, time left (no network unless --check)')
    .addHelpText('after', examples(['authctl status', 'authctl status --check --json']))
    .action(run(async () => (await import('../commands/status.js')).statusRun as Action));

  withSettings(program.command('projects'), 'projects')
    .description("the projects and domains the profile's user has a role on (* marks the token's scope)")
    .addHelpText('after', examples(['authctl projects', 'authctl projects --json | jq -r ".projects[].name"', 'authctl login --project "$(authctl projects --json | jq -r ".projects[0].name")"']))
    .action(run(async () => (await import('../commands/projects.js')).projectsRun as Action));

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
