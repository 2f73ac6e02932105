import { createRequire } from 'node:module';
import type { ChalkInstance } from 'chalk';
import { colorEnabled, type Env, type OutputStream } from './io.js';
import type { SecretRegistry } from './redact.js';

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
  #chalk: ChalkInstance | undefined;
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

  /** Colour on a terminal only, never with NO_COLOR; chalk is loaded on the first coloured word. */
  #paint(style: 'green' | 'yellow' | 'red' | 'dim', text: string): string {
    this.#colorEnabled ??= colorEnabled(this.#stderr(), this.#env);
    if (!this.#colorEnabled) return text;
    this.#chalk ??= new (createRequire(import.meta.url)('chalk') as typeof import('chalk')).Chalk({ level: 1 });
    return this.#chalk[style](text);
  }

  #line(text: string): void {
    this.#stderr().write(`${this.#secrets.redact(text)}\n`);
  }

  info(message: string): void {
    this.#line(message);
  }

  success(message: string): void {
    this.#line(this.#paint('green', message));
  }

  warn(message: string): void {
    this.#line(`${this.#paint('yellow', 'warning:')} ${message}`);
  }

  error(message: string, hint?: string): void {
    this.#line(`${this.#paint('red', 'authctl:')} ${message}`);
    if (hint) this.#line(`${this.#paint('dim', 'hint:')} ${hint}`);
  }

  debug(message: string): void {
    if (this.#debugEnabled) this.#line(this.#paint('dim', `debug: ${message}`));
  }
}
