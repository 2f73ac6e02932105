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
 * Every secret the process has seen. Whatever authctl writes to stderr passes through `redact`,
 * so even a server that echoes a password back in an error message cannot make authctl print it.
 */
export class SecretRegistry {
  /** Each form of each secret, longest first, with the secret it stands for. */
  #forms: [form: string, secret: string][] = [];
  readonly #seen = new Set<string>();

  add(secret: string | undefined): void {
    // Very short values would redact ordinary words; nothing authctl handles as a secret is that short.
    if (!secret || secret.length < 4 || this.#seen.has(secret)) return;
    this.#seen.add(secret);
    for (const form of secretForms(secret)) if (form.length >= 4) this.#forms.push([form, secret]);
    this.#forms.sort((a, b) => b[0].length - a[0].length);
  }

  redact(text: string): string {
    let result = text;
    // The fingerprint only where a secret shows: node:crypto stays off the cached path.
    for (const [form, secret] of this.#forms) {
      if (result.includes(form)) result = result.split(form).join(`<${fingerprint(secret)}>`);
    }
    return result.includes(ELLIPSIS) ? this.#redactCutSecrets(result) : result;
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
