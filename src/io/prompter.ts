import { CancelledError } from '../core/errors.js';
import type { IO } from './io.js';

/** One entry of a list to pick from: what is shown, and what picking it answers. */
export interface Choice {
  name: string;
  value: string;
  /** A line shown under the list while the entry is highlighted. */
  description?: string;
}

/** Questions to a person at the terminal; tests hand in scripted answers. */
export interface Prompter {
  input(message: string, defaultValue?: string): Promise<string>;
  password(message: string): Promise<string>;
  /** One of `choices` (at least one), picked with the arrow keys; typing filters the list. Answers its `value`. */
  select(message: string, choices: readonly Choice[]): Promise<string>;
}

/** The choices whose name holds every word typed, in any case; all of them before anything is typed. */
export function filterChoices(choices: readonly Choice[], term: string | undefined): Choice[] {
  const words = (term ?? '').toLowerCase().split(/\s+/).filter(Boolean);
  return choices.filter((choice) => words.every((word) => choice.name.toLowerCase().includes(word)));
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
    async select(message, choices) {
      // @inquirer's search prompt: the arrow keys move, what is typed filters the list.
      const { search } = await import('@inquirer/prompts');
      return search<string>({ message, source: (term) => filterChoices(choices, term), pageSize: 10 }, context).catch(cancelled);
    },
  };
}
