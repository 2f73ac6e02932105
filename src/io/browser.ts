import type { Env } from './io.js';

/**
 * Whether a browser can be opened here (the sign-in flow's one rule): `$BROWSER` is set, or
 * a display on Linux and the BSDs; always on macOS and Windows. SSH sessions and containers have
 * none, and sign in with the device flow instead.
 */
export function canOpenBrowser(env: Env, platform: NodeJS.Platform): boolean {
  if (env.BROWSER) return true;
  if (platform === 'darwin' || platform === 'win32') return true;
  return Boolean(env.DISPLAY || env.WAYLAND_DISPLAY);
}

/**
 * The command line that opens `url`: the first `$BROWSER` entry (colon-separated; `%s` stands for
 * the URL, else it is appended), else the platform's opener. Never through a shell.
 */
export function browserCommand(url: string, env: Env, platform: NodeJS.Platform): [program: string, args: string[]] {
  const chosen = env.BROWSER?.split(':').find((entry) => entry.trim() !== '');
  if (chosen) {
    const words = chosen.trim().split(/\s+/);
    const args = words.slice(1);
    return args.some((arg) => arg.includes('%s')) ? [words[0]!, args.map((arg) => arg.replaceAll('%s', url))] : [words[0]!, [...args, url]];
  }
  if (platform === 'darwin') return ['open', [url]];
  if (platform === 'win32') return ['rundll32', ['url.dll,FileProtocolHandler', url]];
  return ['xdg-open', [url]];
}
