import { RejectedError, UsageError } from '../core/errors.js';
import { describeUser, type KeystoneTarget, type Scope, type UserRef } from '../core/target.js';
import type { IssuedToken } from '../core/token.js';
import { authBody, issueToken, passwordPiece, ReceiptRequiredError, totpByIdPiece, totpPiece, type VirtualMfaRequiredError } from '../iam/keystone.js';
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

/**
 * OTC / Huawei Cloud virtual MFA: the password was right and IAM wants the passcode in the same
 * request, checked against the user's id (`totp.user.id`). One more request, never a loop: a
 * refused one counts towards the account's lockout.
 */
export async function continueWithVirtualMfa(io: AuthIO, target: Omit<KeystoneTarget, 'kind'>, password: string, asked: VirtualMfaRequiredError): Promise<IssuedToken> {
  const userId = 'id' in target.user ? target.user.id : target.knownUserId;
  if (userId === undefined) {
    throw new UsageError(`${asked.message}; it checks the passcode against the user's id, which authctl does not know yet`, {
      hint: 'set OS_USER_ID (or --user-id) to your IAM user id (console: My Credentials), then log in again',
    });
  }
  return withVirtualMfa(io, target, password, userId);
}

/** The password and the passcode in one request (also what v3multifactor sends when the user's id is known). */
export async function withVirtualMfa(io: AuthIO, target: Omit<KeystoneTarget, 'kind'>, password: string, userId: string): Promise<IssuedToken> {
  const passcode = await io.passcode(`Virtual MFA passcode for ${describeUser(target.user)}:`);
  if (passcode === undefined) throw new SecondFactorNeededError(target.authUrl, target.user);
  try {
    return await issueToken(io.http, target.authUrl, authBody([passwordPiece(target.user, password), totpByIdPiece(userId, passcode)], target.scope), io.now);
  } catch (error) {
    if (error instanceof RejectedError) {
      // Huawei-style IAM answers a wrong passcode with the wrong-password words: say both.
      throw new RejectedError(`login to ${target.authUrl} with password and MFA passcode was rejected: the passcode was wrong or from another time window (or the password changed)`, {
        hint: 'give a fresh code from your authenticator; repeated failures lock the account',
        cause: error,
      });
    }
    throw error;
  }
}
