import { CancelledError } from '../core/errors.js';
import { writeSync } from 'node:fs';
import { terminalPrompter } from '../io/prompter.js';
import type { OutputStream } from '../io/io.js';
import type { Factory } from '../session/factory.js';

declare const AUTHCTL_VERSION: string;

let stdoutStream = false;

/**
 * stdout without building Node's stream for it (~3.5 ms of the cached path): a blocking write to
 * fd 1, which is what Node's stream does for files and pipes on Linux anyway. Falls back to the
 * stream where the descriptor would block (a non-blocking pipe that is full).
 */
const stdout: OutputStream = {
  write(text: string) {
    let rest = Buffer.from(text);
    try {
      while (rest.length > 0 && !stdoutStream) rest = rest.subarray(writeSync(1, rest));
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      if (code === 'EPIPE') process.exit(0); // the reader has gone (`| head -1`): nothing left to say
      if (code !== 'EAGAIN') throw error;
    }
    if (rest.length > 0) {
      stdoutStream = true;
      process.stdout.write(rest);
    }
    return true;
  },
  get isTTY() {
    return process.stdout.isTTY;
  },
};

/** The real world: this process's environment, streams, clock, keychain, network and terminal. */
export function processFactory(): Factory {
  const io = {
    get stdin() {
      return process.stdin;
    },
    stdout,
    get stderr() {
      return process.stderr;
    },
  };
  return {
    env: process.env,
    // Getters: Node builds each stream on first use, and building all three costs the cached path ~8 ms.
    io,
    clock: { now: Date.now },
    platform: process.platform,
    version: AUTHCTL_VERSION,
    cwd: () => process.cwd(),
    home: () => process.getBuiltinModule('node:os').homedir(),
    async defaultConfigDir() {
      const { default: envPaths } = await import('env-paths');
      return envPaths('authctl', { suffix: '' }).config;
    },
    async openStore(kind, options) {
      const { openSecretStore } = await import('../store/open.js');
      return openSecretStore(kind, options);
    },
    async httpClient(options) {
      const { createHttpClient } = await import('../iam/http.js');
      return createHttpClient(options);
    },
    prompter: () => terminalPrompter(io),
    runCommand(commandLine, env, timeoutMs) {
      const { spawn } = process.getBuiltinModule('node:child_process');
      const [shell, flag] = process.platform === 'win32' ? ['cmd.exe', '/c'] : ['/bin/sh', '-c'];
      // Without a terminal, a process group of its own, so that a timeout ends everything the
      // command started (the shell's children too). At a terminal it stays in the foreground
      // group: a command that asks on /dev/tty (a password manager's pinentry) must be able to.
      const ownGroup = process.platform !== 'win32' && !(process.stdin.isTTY || process.stderr.isTTY);
      return new Promise((resolve, reject) => {
        // stderr goes to the terminal: a command that asks (a password manager) can say so there.
        const child = spawn(shell, [flag, commandLine], { env: env as NodeJS.ProcessEnv, stdio: ['ignore', 'pipe', 'inherit'], detached: ownGroup });
        const chunks: Buffer[] = [];
        let size = 0;
        let failure: Error | undefined;
        const stop = (why: Error) => {
          failure ??= why;
          try {
            if (ownGroup && child.pid !== undefined) process.kill(-child.pid, 'SIGKILL');
            else child.kill('SIGKILL');
          } catch {
            // gone already
          }
        };
        const timer = setTimeout(() => stop(Object.assign(new Error(`did not finish within ${timeoutMs / 1000}s`), { timedOut: true })), timeoutMs);
        child.stdout.on('data', (chunk: Buffer) => {
          size += chunk.length;
          if (size > 64 * 1024) stop(new Error('printed more than 64 KiB'));
          else chunks.push(chunk);
        });
        child.once('error', (error) => {
          clearTimeout(timer);
          reject(error);
        });
        child.once('close', (code, signal) => {
          clearTimeout(timer);
          if (failure) reject(failure);
          else if (code !== 0) reject(Object.assign(new Error(`exited with ${code ?? signal}`), { code: code ?? undefined, signal: signal ?? undefined }));
          else resolve(Buffer.concat(chunks).toString('utf8'));
        });
      });
    },
    sleep: (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
    async openBrowser(url, env) {
      const { spawn } = process.getBuiltinModule('node:child_process');
      const { browserCommand } = await import('../io/browser.js');
      const [program, args] = browserCommand(url, env, process.platform);
      return new Promise<boolean>((resolve) => {
        const child = spawn(program, args, { stdio: 'ignore', detached: true, env: env as NodeJS.ProcessEnv });
        child.once('error', () => resolve(false));
        child.once('spawn', () => {
          child.unref();
          resolve(true);
        });
      });
    },
    async untilInterrupted(work) {
      let onSignal!: () => void;
      const interrupted = new Promise<never>((_, reject) => {
        onSignal = () => reject(new CancelledError('interrupted (Ctrl-C); nothing was stored'));
      });
      interrupted.catch(() => {});
      process.once('SIGINT', onSignal);
      try {
        return await work(interrupted);
      } finally {
        process.off('SIGINT', onSignal);
      }
    },
  };
}

/**
 * Exits now rather than when the event loop drains: a keep-alive socket or a keychain call
 * abandoned after its timeout must not hold a shell prompt. Flushes the stdout stream first if
 * anything went through it.
 */
export function exitWith(code: number): void {
  if (stdoutStream) process.stdout.write('', () => process.exit(code));
  else process.exit(code);
}
