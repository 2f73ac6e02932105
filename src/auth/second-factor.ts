import { RejectedError } from '../core/errors.js';
import { describeUser, type Scope, type UserRef } from '../core/target.js';
import type { IssuedToken } from '../core/token.js';
import { authBody, issueToken, ReceiptRequiredError, totpPiece } from '../iam/keystone.js';
import type { AuthIO } from './method.js';

/**
 * Keystone's multi-factor rules: a login whose factors were right but not enough is answered
 * 401 with a receipt; the second request carries the receipt and the missing factor. authctl
 * can give a TOTP passcode.
 */

/** No passcode could be had: at a terminal nobody was asked, and OS_PASSCODE / AUTHCTL_PASSCODE_COMMAND are unset. */
export class SecondFactorNeededError extends RejectedError {
  constructor(authUrl: string, user: UserRef) {
    super(`login to ${authUrl}: the account ${describeUser(user)} requires a second factor (a TOTP passcode)`, { reason: 'second-factor-needed' });
  }
}

/** Completes a login that Keystone answered with a receipt, with a TOTP passcode. */
export async function continueWithPasscode(io: AuthIO, authUrl: string, user: UserRef, scope: Scope, receipt: ReceiptRequiredError): Promise<IssuedToken> {
  const rules = receipt.requiredMethods;
  if (rules.length > 0 && !rules.some((rule) => rule.includes('totp'))) {
    throw new RejectedError(`${receipt.message}, which authctl cannot give`, { hint: 'ask your IAM administrator which factors the account needs' });
  }
  if (receipt.expiresAt !== undefined && receipt.expiresAt <= io.now()) {
    throw new RejectedError(`login to ${authUrl}: the receipt for the second factor expired before the passcode was given`, { hint: 'log in again and give the passcode within its lifetime (5 minutes by default)' });
  }
  const passcode = await io.passcode(`Passcode for ${describeUser(user)}:`);
  if (passcode === undefined) throw new SecondFactorNeededError(authUrl, user);
  try {
    return await issueToken(io.http, authUrl, authBody([totpPiece(user, passcode)], scope), io.now, { 'openstack-auth-receipt': receipt.receipt });
  } catch (error) {
    if (error instanceof RejectedError && !(error instanceof ReceiptRequiredError)) {
      throw new RejectedError(`login to ${authUrl}: the passcode was refused (wrong, or from another time window)`, { hint: 'give a fresh code from your authenticator', cause: error });
    }
    throw error;
  }
}
