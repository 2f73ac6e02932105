import { colorEnabled, type Env, type OutputStream } from './io.js';
import type { SecretRegistry } from './redact.js';
import { terminalSafe } from './terminal-safe.js';

/** --debug, or AUTHCTL_DEBUG set to anything but empty, 0 or false. */
export function debugRequested(flag: boolean | undefined, env: Env): boolean {
  const value = env.AUTHCTL_DEBUG;
  return Boolean(flag) || (value !== undefined && value !== '' && value !== '0' && value.toLowerCase() !== 'false');
}

/** Everything authctl says to a person goes through here, to stderr, redacted. */
export class Reporter {
  readonly #stderr: () => OutputStream;
  readonly #secrets: SecretRegistry;
  readonly #debugEnabled: boolean;
  readonly #env: Env;
  #styleText: typeof import('node:util').styleText | undefined;
  #colorEnabled: boolean | undefined;

  /** `stderr` is a function: the stream is only touched once there is something to say. */
  constructor(stderr: () => OutputStream, env: Env, secrets: SecretRegistry, debug: boolean) {
    this.#stderr = stderr;
    this.#env = env;
    this.#secrets = secrets;
    this.#debugEnabled = debug;
  }

  get debugEnabled(): boolean {
    return this.#debugEnabled;
  }

  /**
   * Colour on a terminal only, never with NO_COLOR (colorEnabled decides, for our stream: stderr);
   * node:util is looked up on the first coloured word. `validateStream: false` keeps styleText
   * from second-guessing that with its own checks of process.stdout and the environment (Node
   * versions without the option never check).
   */
  #paint(style: 'green' | 'yellow' | 'red' | 'dim', text: string): string {
    this.#colorEnabled ??= colorEnabled(this.#stderr(), this.#env);
    if (!this.#colorEnabled) return text;
    this.#styleText ??= process.getBuiltinModule('node:util').styleText;
    return this.#styleText(style, text, { validateStream: false });
  }

  /** A line to stderr: the words redacted and made safe for a terminal, then (our own) colour around them. */
  #line(message: string, paint: (text: string) => string = (text) => text, label?: string): void {
    const safe = terminalSafe(this.#secrets.redact(message));
    this.#stderr().write(`${label ? `${label} ` : ''}${paint(safe)}\n`);
  }

  info(message: string): void {
    this.#line(message);
  }

  success(message: string): void {
    this.#line(message, (text) => this.#paint('green', text));
  }

  warn(message: string): void {
    this.#line(message, undefined, this.#paint('yellow', 'warning:'));
  }

  error(message: string, hint?: string): void {
    this.#line(message, undefined, this.#paint('red', 'authctl:'));
    if (hint) this.#line(hint, undefined, this.#paint('dim', 'hint:'));
  }

  debug(message: string): void {
    if (this.#debugEnabled) this.#line(`debug: ${message}`, (text) => this.#paint('dim', text));
  }
}
