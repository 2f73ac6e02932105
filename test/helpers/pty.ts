/**
 * The CLI on a real pseudo-terminal (util-linux `script`), driven like a person would: wait for
 * a prompt, type an answer. stdin and stderr are TTYs, so authctl prompts.
 */
import { spawn } from 'node:child_process';
import { BIN } from './cli.js';

export interface PtySession {
  /** Resolves once the screen output matches, with everything seen so far. */
  waitFor(pattern: RegExp, timeoutMs?: number): Promise<string>;
  type(text: string): void;
  /** Sends Ctrl-C. */
  interrupt(): void;
  /** Resolves with the exit code when the program ends. */
  exit: Promise<number | null>;
  output(): string;
}

const quote = (value: string) => `'${value.replace(/'/g, `'\\''`)}'`;

export function startPty(args: readonly string[], env: Record<string, string | undefined>): PtySession {
  const command = [process.execPath, BIN, ...args].map(quote).join(' ');
  const cleanEnv = Object.fromEntries(Object.entries({ ...env, TERM: 'xterm' }).filter(([, v]) => v !== undefined)) as Record<string, string>;
  // -e: exit with the child's status; -q: no banner; -f: flush as output arrives.
  const child = spawn('script', ['-qefc', command, '/dev/null'], { env: cleanEnv, stdio: ['pipe', 'pipe', 'pipe'] });
  let screen = '';
  const listeners = new Set<() => void>();
  child.stdout.on('data', (chunk: Buffer) => {
    screen += chunk.toString();
    for (const listener of listeners) listener();
  });
  const exit = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)));
  return {
    waitFor(pattern, timeoutMs = 10_000) {
      return new Promise((resolve, reject) => {
        const check = () => {
          if (pattern.test(screen)) {
            listeners.delete(check);
            clearTimeout(timer);
            resolve(screen);
          }
        };
        const timer = setTimeout(() => {
          listeners.delete(check);
          reject(new Error(`timed out waiting for ${pattern}; screen so far:\n${screen}`));
        }, timeoutMs);
        listeners.add(check);
        check();
      });
    },
    type: (text) => void child.stdin.write(text),
    interrupt: () => void child.stdin.write('\x03'),
    exit,
    output: () => screen,
  };
}
