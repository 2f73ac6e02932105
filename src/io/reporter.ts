import { Chalk, type ChalkInstance } from 'chalk';
import { colorEnabled, type Env, type OutputStream } from './io.js';
import type { SecretRegistry } from './redact.js';

/** Everything authctl says to a person goes through here, to stderr, redacted. */
export class Reporter {
  readonly #stderr: OutputStream;
  readonly #secrets: SecretRegistry;
  readonly #debugEnabled: boolean;
  #chalk: ChalkInstance | undefined;
  readonly #colorEnabled: boolean;

  constructor(stderr: OutputStream, env: Env, secrets: SecretRegistry, debug: boolean) {
    this.#stderr = stderr;
    this.#secrets = secrets;
    this.#debugEnabled = debug;
    this.#colorEnabled = colorEnabled(stderr, env);
  }

  get debugEnabled(): boolean {
    return this.#debugEnabled;
  }

  get color(): ChalkInstance {
    this.#chalk ??= new Chalk({ level: this.#colorEnabled ? 1 : 0 });
    return this.#chalk;
  }

  #line(text: string): void {
    this.#stderr.write(`${this.#secrets.redact(text)}\n`);
  }

  info(message: string): void {
    this.#line(message);
  }

  success(message: string): void {
    this.#line(this.color.green(message));
  }

  warn(message: string): void {
    this.#line(`${this.color.yellow('warning:')} ${message}`);
  }

  error(message: string, hint?: string): void {
    this.#line(`${this.color.red('authctl:')} ${message}`);
    if (hint) this.#line(`${this.color.dim('hint:')} ${hint}`);
  }

  debug(message: string): void {
    if (this.#debugEnabled) this.#line(this.color.dim(`debug: ${message}`));
  }
}
