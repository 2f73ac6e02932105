import type { HttpClient, HttpOptions } from '../iam/http.js';
import type { Env, IO } from '../io/io.js';
import type { Prompter } from '../io/prompter.js';
import type { StoreOptions } from '../store/open.js';
import type { SecretStore, StoreKind } from '../store/secret-store.js';

/** The clock every expiry decision and the refresh lock read. */
export interface Clock {
  now(): number;
}

/**
 * The outside world as commands see it: the one thing a test replaces (with buffers, a fixed
 * clock, a memory store, a strict HTTP stub and scripted answers). Nothing below the CLI reads
 * `process` itself. The providers are called on first use only: `token get` on a warm cache
 * never builds an HTTP client or a prompter.
 */
export interface Factory {
  readonly env: Env;
  readonly io: IO;
  readonly clock: Clock;
  readonly platform: NodeJS.Platform;
  readonly version: string;
  cwd(): string;
  home(): string;
  /** The platform's config directory, used when AUTHCTL_CONFIG_DIR is not set. */
  defaultConfigDir(): Promise<string>;
  openStore(kind: StoreKind, options: StoreOptions): Promise<SecretStore>;
  httpClient(options: HttpOptions): Promise<HttpClient>;
  prompter(): Prompter;
  /**
   * Runs a command line (AUTHCTL_PASSCODE_COMMAND) through the platform's shell; resolves to its
   * stdout, rejects naming its exit status, or with `timedOut` once `timeoutMs` has passed (it is killed).
   */
  runCommand(commandLine: string, env: Env, timeoutMs: number): Promise<string>;
  /** Waits `ms` (device-flow polling intervals). */
  sleep(ms: number): Promise<void>;
  /** Opens `url` in the person's browser, with `env` (authctl's secret variables left out); false when none could be started. */
  openBrowser(url: string, env: Env): Promise<boolean>;
  /** Resolves when the person presses Ctrl-C (SIGINT) while `work` runs; the listener is removed after. */
  untilInterrupted<T>(work: (interrupted: Promise<never>) => Promise<T>): Promise<T>;
}
