import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { onTestFinished } from 'vitest';
import type { HttpOptions } from '../../src/iam/http.js';
import type { Env, IO, OutputStream } from '../../src/io/io.js';
import type { Prompter } from '../../src/io/prompter.js';
import type { Factory } from '../../src/session/factory.js';
import type { StoreOptions } from '../../src/store/open.js';
import type { SecretStore, StoreKind } from '../../src/store/secret-store.js';
import { CancelledError } from '../../src/core/errors.js';
import { HttpStub } from './http-stub.js';
import { MemoryStore } from './memory-store.js';

/** The instant every command test starts at, unless it says otherwise. */
export const NOW = Date.parse('2026-12-01T12:00:00Z');

export interface TestClock {
  now(): number;
  /** Moves the clock forward by `ms`. */
  advance(ms: number): void;
  set(time: number | string): void;
}

/** One scripted answer: the exact question expected (or a pattern) and what the "user" types. */
export type Answer = readonly [question: string | RegExp, answer: string];

export interface TestFactoryOptions {
  env?: Record<string, string | undefined>;
  now?: number | string;
  /** Text (or bytes) on stdin; none means an empty stdin. */
  stdin?: string;
  /** stdin and stderr are terminals (so commands may prompt); stdout too unless `stdoutTty` says otherwise. */
  tty?: boolean;
  stdoutTty?: boolean;
  /** Questions the prompter expects, in order. Any other question fails the test. */
  answers?: readonly Answer[];
  /** What each command line run through the Factory (AUTHCTL_PASSCODE_COMMAND) prints; any other fails. */
  commands?: Record<string, string>;
  /** The person's browser: given each URL authctl opens (it may fetch the loopback redirect); none means opening fails. */
  browser?: (url: string) => void | Promise<void>;
}

export interface TestHarness {
  factory: Factory;
  stdout(): string;
  stderr(): string;
  store: MemoryStore;
  http: HttpStub;
  clock: TestClock;
  /** The config directory (AUTHCTL_CONFIG_DIR), a fresh temporary one. */
  configDir: string;
  /** A fresh temporary directory that is HOME and the working directory. */
  home: string;
  /** The store kinds commands opened, in order, with their options. */
  opened: { kind: StoreKind; options: StoreOptions }[];
  /** The HTTP options commands asked for. */
  httpOptions: HttpOptions[];
  /** The environment each command line run through the Factory was given. */
  commandEnvs: Env[];
  /** Makes every read, write or delete of `account` fail with `error`. */
  failOn(account: string, error: Error): void;
  /** The URLs commands asked the browser to open. */
  browsed: string[];
  /** The environment each browser was started with. */
  browserEnvs: Env[];
  /** Each list the prompter was asked to pick from: the question and the entries' names. */
  offered: { message: string; choices: string[] }[];
  /** Acts as Ctrl-C would: the command waiting for a person is interrupted. */
  interrupt(): void;
  /** Clears stdout and stderr between two command lines of one test. */
  clearOutput(): void;
  /** The same world (store, config, clock, stub, buffers) with another environment, for the next command line. */
  withEnv(env: Record<string, string | undefined>): Factory;
}

class Buffered implements OutputStream {
  text = '';
  constructor(readonly isTTY: boolean) {}
  write(chunk: string): boolean {
    this.text += chunk;
    return true;
  }
}

/**
 * The world a command test runs a command in: buffers for stdout and stderr, a fixed clock, an
 * in-memory secret store, a strict HTTP stub, scripted answers, and temporary config and home
 * directories. Nothing from `process` (environment, D-Bus, keychain, network, terminal) gets in.
 * After the test, the HTTP stub and the prompter are verified and the directories removed.
 */
export function testFactory(options: TestFactoryOptions = {}): TestHarness {
  const configDir = mkdtempSync(join(tmpdir(), 'authctl-cmd-config-'));
  const home = mkdtempSync(join(tmpdir(), 'authctl-cmd-home-'));
  const env: Env = Object.freeze({ AUTHCTL_CONFIG_DIR: configDir, ...options.env });

  let now = options.now === undefined ? NOW : typeof options.now === 'string' ? Date.parse(options.now) : options.now;
  const clock: TestClock = {
    now: () => now,
    advance: (ms) => {
      now += ms;
    },
    set: (time) => {
      now = typeof time === 'string' ? Date.parse(time) : time;
    },
  };

  const tty = Boolean(options.tty);
  const stdout = new Buffered(options.stdoutTty ?? tty);
  const stderr = new Buffered(tty);
  const stdin = Readable.from(options.stdin === undefined ? [] : [Buffer.from(options.stdin)]) as Readable & { isTTY?: boolean };
  if (tty) stdin.isTTY = true;
  const io: IO = { stdin, stdout, stderr };

  const store = new MemoryStore();
  const failures = new Map<string, Error>();
  const guard = (account: string) => {
    const failure = failures.get(account);
    if (failure) throw failure;
  };
  /** One MemoryStore behind every kind; each opened store reports the kind asked for, as the real ones do. */
  const view = (kind: StoreKind): SecretStore => ({
    kind,
    async get(account) {
      guard(account);
      return store.get(account);
    },
    async set(account, value) {
      guard(account);
      return store.set(account, value);
    },
    async delete(account) {
      guard(account);
      return store.delete(account);
    },
    accounts: () => store.accounts(),
  });

  const http = new HttpStub();
  const opened: TestHarness['opened'] = [];
  const httpOptions: HttpOptions[] = [];
  const commandEnvs: Env[] = [];
  const browsed: string[] = [];
  const browserEnvs: Env[] = [];
  const interrupts = new Set<() => void>();

  const script = [...(options.answers ?? [])];
  const offered: TestHarness['offered'] = [];
  const unexpectedQuestions: string[] = [];
  const answer = (message: string): string => {
    const next = script.shift();
    const matches = next !== undefined && (typeof next[0] === 'string' ? next[0] === message : next[0].test(message));
    if (!next || !matches) {
      unexpectedQuestions.push(message);
      throw new Error(`prompter: unexpected question ${JSON.stringify(message)}${next ? ` (expected ${String(next[0])})` : ' (no answers left)'}`);
    }
    return next[1];
  };
  const prompter: Prompter = {
    input: async (message) => answer(message),
    password: async (message) => answer(message),
    // The scripted answer is the name of the entry picked (as the person sees it).
    select: async (message, choices) => {
      offered.push({ message, choices: choices.map((choice) => choice.name) });
      const name = answer(message);
      const picked = choices.find((choice) => choice.name === name);
      if (!picked) throw new Error(`prompter: ${JSON.stringify(name)} is not among the choices of ${JSON.stringify(message)}: ${choices.map((choice) => JSON.stringify(choice.name)).join(', ')}`);
      return picked.value;
    },
  };

  const factory: Factory = {
    env,
    io,
    clock,
    platform: 'linux',
    version: '0.0.0-test',
    cwd: () => home,
    home: () => home,
    defaultConfigDir: async () => {
      throw new Error('testFactory: AUTHCTL_CONFIG_DIR was unset; commands must not look for the platform config directory');
    },
    async openStore(kind, storeOptions) {
      opened.push({ kind, options: storeOptions });
      return view(kind);
    },
    async httpClient(httpOptionsGiven) {
      httpOptions.push(httpOptionsGiven);
      return http;
    },
    prompter: () => prompter,
    async runCommand(commandLine, commandEnv) {
      commandEnvs.push(commandEnv);
      const output = options.commands?.[commandLine];
      if (output === undefined) throw Object.assign(new Error(`testFactory: unexpected command ${JSON.stringify(commandLine)}`), { code: 127 });
      return output;
    },
    // Time passes on the test clock at once: a device flow's polling intervals cost nothing.
    sleep: async (ms) => {
      now += ms;
      await new Promise((resolve) => setImmediate(resolve));
    },
    async openBrowser(url, browserEnv) {
      browsed.push(url);
      browserEnvs.push(browserEnv);
      if (!options.browser) return false;
      // The browser works on its own time, as a real one does.
      setTimeout(() => void Promise.resolve(options.browser!(url)).catch(() => {}), 0);
      return true;
    },
    async untilInterrupted(work) {
      let cancel!: () => void;
      const interrupted = new Promise<never>((_, reject) => {
        cancel = () => reject(new CancelledError('interrupted (Ctrl-C); nothing was stored'));
      });
      interrupted.catch(() => {});
      interrupts.add(cancel);
      try {
        return await work(interrupted);
      } finally {
        interrupts.delete(cancel);
      }
    },
  };

  onTestFinished(() => {
    rmSync(configDir, { recursive: true, force: true });
    rmSync(home, { recursive: true, force: true });
    const problems: string[] = [];
    try {
      http.verify();
    } catch (error) {
      problems.push((error as Error).message);
    }
    if (unexpectedQuestions.length) problems.push(`prompter: unexpected questions: ${unexpectedQuestions.map((q) => JSON.stringify(q)).join(', ')}`);
    if (script.length) problems.push(`prompter: questions never asked: ${script.map(([question]) => String(question)).join(', ')}`);
    if (problems.length) throw new Error(problems.join('\n'));
  });

  return {
    factory,
    stdout: () => stdout.text,
    stderr: () => stderr.text,
    store,
    http,
    clock,
    configDir,
    home,
    opened,
    httpOptions,
    commandEnvs,
    browsed,
    browserEnvs,
    offered,
    interrupt: () => {
      for (const cancel of interrupts) cancel();
    },
    failOn: (account, error) => failures.set(account, error),
    clearOutput: () => {
      stdout.text = '';
      stderr.text = '';
    },
    withEnv: (next) => ({ ...factory, env: Object.freeze({ AUTHCTL_CONFIG_DIR: configDir, ...next }) }),
  };
}
