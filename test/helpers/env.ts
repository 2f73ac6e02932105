/**
 * Skipping, loudly: a suite whose server is missing says what is missing and how to install it.
 * Under CI (CI=true) a skip is a failure: the suite throws instead.
 */
export function requireOrSkip(missing: string | undefined, suite: string): boolean {
  if (missing === undefined) return true;
  const line = `${suite}: ${missing}`;
  if (process.env.CI) throw new Error(`${line} (CI=true: a skipped suite fails the run)`);
  process.stderr.write(`\n!!! SKIPPED ${line}\n\n`);
  return false;
}
