/** A short, stable stand-in for a secret: enough to tell two apart in a debug log, useless to an attacker. */
export function fingerprint(secret: string): string {
  // Loaded here, not at the top: node:crypto costs the cached path more than its whole answer.
  const { createHash } = process.getBuiltinModule('node:crypto');
  return `sha256:${createHash('sha256').update(secret).digest('hex').slice(0, 12)}`;
}

/**
 * The forms a secret may come back in: as sent (JSON-escaped in a JSON body, form-encoded in a
 * form body or a URL), and with its white space folded, as a server's message (and `oneLine`)
 * folds it. Each is redacted as the secret itself.
 */
export function secretForms(secret: string): string[] {
  const json = JSON.stringify(secret).slice(1, -1);
  const form = new URLSearchParams({ s: secret }).toString().slice(2);
  const folded = secret.replace(/\s+/g, ' ').trim();
  return [...new Set([secret, json, form, encodeURIComponent(secret), folded, json.replace(/\s+/g, ' ').trim()])];
}

/** What `oneLine` ends a shortened message with. */
const ELLIPSIS = '…';
/** A cut-off secret shorter than this is not told apart from ordinary text. */
const MIN_CUT_LENGTH = 6;

/**
 * A secret that is spelt like an ordinary word ("wrong", "Password", "SECRET"): letters only, in
 * one case or capitalised, no longer than a word gets. authctl's own sentences may hold it.
 */
export function isWordLike(secret: string): boolean {
  return secret.length <= 24 && /^\p{L}+$/u.test(secret) && (secret === secret.toLowerCase() || secret === secret.toUpperCase() || /^\p{Lu}\P{Lu}*$/u.test(secret));
}

/** Before a word in a sentence: nothing, a space or an opening parenthesis. */
const PROSE_BEFORE = /(?:^|[\s(])$/u;
/** After a word in a sentence: nothing, a space, sentence punctuation or a closing parenthesis. */
const PROSE_AFTER = /^(?:$|[\s,.;:!?)])/u;

/**
 * Whether a word-like secret at `index` is one of the text's own words rather than a value in it.
 * A value is what a server echoing a secret writes: quoted (`'wrong'`, `"wrong"`), a key's value
 * (`password=wrong`, `password:wrong`), in a URL, a lone word after `: ` (`Invalid password:
 * wrong`), or the whole text. A word inside a longer word (`rong` in `wrong`) is never the secret. What is left, a
 * word between spaces and punctuation in a sentence (`wrong key (...)`, `check the user name,
 * domain, password and scope`), is the sentence's: replacing it would mangle authctl's own
 * message, and the fingerprint in its place would tell a reader which word the secret is.
 */
function isSentenceWord(text: string, index: number, length: number): boolean {
  // The whole text: a value, whatever it is spelt like.
  if (text.trim().length === length) return false;
  const before = text.slice(Math.max(0, index - 2), index);
  const after = text.slice(index + length, index + length + 2);
  if (/[\p{L}\p{N}_]$/u.test(before) || /^[\p{L}\p{N}_]/u.test(after)) return true;
  if (!PROSE_BEFORE.test(before) || !PROSE_AFTER.test(after)) return false;
  // A lone word after `: `, up to the end, a comma, a full stop or a parenthesis: a value.
  return !(before === ': ' && /^(?:$|[,;:]|\.(?:\s|$)|\s\(|\s$)/u.test(after));
}

/**
 * Every secret the process has seen. Whatever authctl writes to stderr passes through `redact`,
 * so even a server that echoes a password back in an error message cannot make authctl print it.
 */
export class SecretRegistry {
  /** Each form of each secret, longest first, with the secret it stands for and whether it is spelt like a word. */
  #forms: [form: string, secret: string, wordLike: boolean][] = [];
  readonly #seen = new Set<string>();

  add(secret: string | undefined): void {
    // Very short values would redact ordinary words; nothing authctl handles as a secret is that short.
    if (!secret || secret.length < 4 || this.#seen.has(secret)) return;
    this.#seen.add(secret);
    for (const form of secretForms(secret)) if (form.length >= 4) this.#forms.push([form, secret, isWordLike(form)]);
    this.#forms.sort((a, b) => b[0].length - a[0].length);
  }

  redact(text: string): string {
    let result = text;
    // The fingerprint only where a secret shows: node:crypto stays off the cached path.
    for (const [form, secret, wordLike] of this.#forms) {
      if (!result.includes(form)) continue;
      result = wordLike ? this.#redactWord(result, form, secret) : result.split(form).join(`<${fingerprint(secret)}>`);
    }
    return result.includes(ELLIPSIS) ? this.#redactCutSecrets(result) : result;
  }

  /** A word-like secret goes where it stands as a value, never out of the text's own sentences (`isSentenceWord`). */
  #redactWord(text: string, form: string, secret: string): string {
    let result = '';
    let from = 0;
    for (let index = text.indexOf(form); index !== -1; index = text.indexOf(form, index + form.length)) {
      if (isSentenceWord(text, index, form.length)) continue;
      result += `${text.slice(from, index)}<${fingerprint(secret)}>`;
      from = index + form.length;
    }
    return result + text.slice(from);
  }

  /** A server message shortened to one line (`oneLine`) may end in the first part of a secret it echoed: that part goes too. */
  #redactCutSecrets(text: string): string {
    return text.replace(/(\S+)…/g, (whole, word: string) => {
      for (const [form, secret] of this.#forms) {
        for (let length = Math.min(word.length, form.length - 1); length >= MIN_CUT_LENGTH; length--) {
          if (word.endsWith(form.slice(0, length))) return `${word.slice(0, word.length - length)}<${fingerprint(secret)}>…`;
        }
      }
      return whole;
    });
  }
}
