import { CancelledError } from '../core/errors.js';
import type { IO } from './io.js';

/** Questions to a person at the terminal; tests hand in scripted answers. */
export interface Prompter {
  input(message: string, defaultValue?: string): Promise<string>;
  password(message: string): Promise<string>;
}

/** @inquirer/prompts on stdin/stderr, loaded only when a question is actually asked. */
export function terminalPrompter(io: IO): Prompter {
  const context = { input: io.stdin, output: io.stderr as NodeJS.WritableStream, clearPromptOnDone: false };
  const cancelled = (error: unknown): never => {
    if (error instanceof Error && (error.name === 'ExitPromptError' || error.name === 'AbortPromptError')) throw new CancelledError('cancelled at the prompt; nothing was changed');
    throw error;
  };
  const nonEmpty = (value: string) => value.trim() !== '' || 'a value is required';
  return {
    async input(message, defaultValue) {
      const { input } = await import('@inquirer/prompts');
      return input({ message, required: true, validate: nonEmpty, ...(defaultValue ? { default: defaultValue } : {}) }, context).catch(cancelled);
    },
    async password(message) {
      const { password } = await import('@inquirer/prompts');
      return password({ message, mask: '*', validate: (value) => value !== '' || 'a value is required' }, context).catch(cancelled);
    },
  };
}
