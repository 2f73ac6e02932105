import type { Readable } from 'node:stream';
import { UsageError } from '../core/errors.js';

export interface OutputStream {
  write(chunk: string): unknown;
  isTTY?: boolean;
}

export interface IO {
  stdin: Readable & { isTTY?: boolean };
  stdout: OutputStream;
  stderr: OutputStream;
}

export type Env = Readonly<Record<string, string | undefined>>;

/**
 * Prompting needs a person on both ends: input from a terminal, questions to a terminal. stderr
 * first: a script's stderr is rarely one, and Node builds process.stdin's stream on first look (~2 ms).
 */
export function canPrompt(io: IO): boolean {
  return Boolean(io.stderr.isTTY && io.stdin.isTTY);
}

/** https://no-color.org: any non-empty NO_COLOR turns colour off; so does a non-terminal. */
export function colorEnabled(stream: OutputStream, env: Env): boolean {
  if (env.NO_COLOR) return false;
  if (env.TERM === 'dumb') return false;
  return Boolean(stream.isTTY);
}

const MAX_STDIN_BYTES = 1024 * 1024;

/** Reads a secret piped on stdin, dropping the one line ending that `echo` or a file adds. */
export async function readStdinSecret(io: IO, what: string): Promise<string> {
  if (io.stdin.isTTY) {
    throw new UsageError(`--${what}-stdin expects the ${what.replace(/-/g, ' ')} piped on stdin, but stdin is a terminal`, {
      hint: `pipe it in, e.g. \`printf %s "$SECRET" | authctl ... --${what}-stdin\``,
    });
  }
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of io.stdin) {
    const buffer = typeof chunk === 'string' ? Buffer.from(chunk) : (chunk as Buffer);
    size += buffer.length;
    if (size > MAX_STDIN_BYTES) break;
    chunks.push(buffer);
  }
  const text = Buffer.concat(chunks).toString('utf8').replace(/\r?\n$/, '');
  if (text.length === 0 || size > MAX_STDIN_BYTES) {
    throw new UsageError(
      size > MAX_STDIN_BYTES ? `the ${what.replace(/-/g, ' ')} on stdin is over 1 MiB` : `no ${what.replace(/-/g, ' ')} on stdin`,
      { hint: `pipe the ${what.replace(/-/g, ' ')} to authctl's stdin` },
    );
  }
  return text;
}
