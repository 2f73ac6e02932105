/** A short, stable stand-in for a secret: enough to tell two apart in a debug log, useless to an attacker. */
export function fingerprint(secret: string): string {
  // Loaded here, not at the top: node:crypto costs the cached path more than its whole answer.
  const { createHash } = process.getBuiltinModule('node:crypto');
  return `sha256:${createHash('sha256').update(secret).digest('hex').slice(0, 12)}`;
}

/**
 * Every secret the process has seen. Whatever authctl writes to stderr passes through `redact`,
 * so even a server that echoes a password back in an error message cannot make authctl print it.
 */
export class SecretRegistry {
  readonly #secrets = new Set<string>();

  add(secret: string | undefined): void {
    // Very short values would redact ordinary words; nothing authctl handles as a secret is that short.
    if (secret && secret.length >= 4) this.#secrets.add(secret);
  }

  redact(text: string): string {
    let result = text;
    for (const secret of this.#secrets) {
      if (result.includes(secret)) result = result.split(secret).join(`<${fingerprint(secret)}>`);
    }
    return result;
  }
}
