import { requireDependency } from '../util/cjs.js';

/** The fingerprints' key: random, made on the first fingerprint, never kept or shown. */
let key: Buffer | undefined;

/**
 * A short stand-in for a secret: the same for the same secret within one run, so a reader can
 * tell two apart, and nothing outside the run: an HMAC under a key made afresh in each process,
 * so a fingerprint in a public log cannot be checked against guessed passwords.
 */
export function fingerprint(secret: string): string {
  // Loaded here, not at the top: node:crypto costs the cached path more than its whole answer.
  const { createHmac, randomBytes } = requireDependency<typeof import('node:crypto')>('node:crypto');
  key ??= randomBytes(32);
  return `hmac:${createHmac('sha256', key).update(secret).digest('hex').slice(0, 12)}`;
}

/** Characters left as they are by the percent-encodings authctl and servers use; every other is written as %XX. */
const PERCENT_KEEPS = [
  /[A-Za-z0-9\-_.!~*'()]/, // encodeURIComponent (authctl's URLs, HTTP Basic's user and password)
  /[A-Za-z0-9*\-._]/, // application/x-www-form-urlencoded (URLSearchParams, Java's URLEncoder)
  /[A-Za-z0-9\-._~]/, // RFC 3986's unreserved characters (Python's quote)
  /[A-Za-z0-9]/, // letters and digits only (oauth4webapi's HTTP Basic)
  /[A-Za-z0-9\-_.!~*'();,/?:@&=+$#]/, // encodeURI
  /[^ ]/, // only the spaces encoded
];

/** `secret` percent-encoded (UTF-8) but for the characters `keep` matches; spaces as `space`, hex digits in upper or lower case. */
function percentEncode(secret: string, keep: RegExp, space: string, lower: boolean): string {
  let encoded = '';
  for (const c of secret) {
    if (c === ' ') encoded += space;
    else if (keep.test(c)) encoded += c;
    else for (const byte of Buffer.from(c, 'utf8')) encoded += `%${byte.toString(16).padStart(2, '0')[lower ? 'toLowerCase' : 'toUpperCase']()}`;
  }
  return encoded;
}

/** A JSON string's inner text with the code units `escape` matches as \uXXXX too, and `/` as `\/` where `slash`. */
function jsonEscape(json: string, escape: RegExp, upper: boolean, slash = false): string {
  const escaped = json.replace(escape, (c) => {
    const hex = c.charCodeAt(0).toString(16).padStart(4, '0');
    return `\\u${upper ? hex.toUpperCase() : hex}`;
  });
  return slash ? escaped.replace(/\//g, '\\/') : escaped;
}

/**
 * The forms a secret may come back in: as sent (JSON-escaped in a JSON body, form-encoded in a
 * form body or a URL) and as servers re-encode it (percent-encoding in either case, with `+` or
 * `%20` for spaces; JSON with non-ASCII or `<>&` as \u escapes, `/` as `\/`; JSON escaped twice,
 * a JSON text inside a JSON string), and with its white space folded, as a server's message (and
 * `oneLine`) folds it. Each is redacted as the secret itself.
 */
export function secretForms(secret: string): string[] {
  const json = JSON.stringify(secret).slice(1, -1);
  const folded = secret.replace(/\s+/g, ' ').trim();
  const forms = [secret, json, folded, json.replace(/\s+/g, ' ').trim()];
  for (const keep of PERCENT_KEEPS) for (const space of ['%20', '+']) for (const lower of [false, true]) forms.push(percentEncode(secret, keep, space, lower));
  forms.push(
    JSON.stringify(json).slice(1, -1), // escaped twice
    jsonEscape(json, /[\u007f-\uffff]/g, false), // non-ASCII as \u (Python's ensure_ascii)
    jsonEscape(json, /[\u007f-\uffff]/g, true),
    jsonEscape(json, /[<>&\u2028\u2029]/g, false), // Go's encoding/json
    jsonEscape(json, /[\u007f-\uffff]/g, false, true), // PHP's json_encode
    jsonEscape(json, /[<>&'+`\u007f-\uffff]/g, true), // .NET's System.Text.Json
  );
  // As a server may echo bytes it was sent: base64 (padded or not, and URL-safe), hex.
  const bytes = Buffer.from(secret, 'utf8');
  const base64 = bytes.toString('base64');
  const hex = bytes.toString('hex');
  forms.push(base64, base64.replace(/=+$/, ''), bytes.toString('base64url'), hex, hex.toUpperCase());
  return [...new Set(forms)];
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
  /** Secrets added but not yet spelt out in their forms: a run that prints no message never needs them (the cached path). */
  readonly #pending: string[] = [];

  add(secret: string | undefined): void {
    // Very short values would redact ordinary words; nothing authctl handles as a secret is that short.
    if (!secret || secret.length < 4 || this.#seen.has(secret)) return;
    this.#seen.add(secret);
    this.#pending.push(secret);
  }

  #expand(): void {
    if (this.#pending.length === 0) return;
    for (const secret of this.#pending.splice(0)) {
      for (const form of secretForms(secret)) if (form.length >= 4) this.#forms.push([form, secret, isWordLike(form)]);
    }
    this.#forms.sort((a, b) => b[0].length - a[0].length);
  }

  redact(text: string): string {
    this.#expand();
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
    return text.replace(/(\S+)\u2026/g, (whole, word: string) => {
      for (const [form, secret] of this.#forms) {
        for (let length = Math.min(word.length, form.length - 1); length >= MIN_CUT_LENGTH; length--) {
          if (word.endsWith(form.slice(0, length))) return `${word.slice(0, word.length - length)}<${fingerprint(secret)}>…`;
        }
      }
      return whole;
    });
  }
}
