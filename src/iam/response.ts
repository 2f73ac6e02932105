import { AuthctlError, RejectedError, UnreachableError, UsageError } from '../core/errors.js';
import { isPlausibleToken } from '../core/token.js';
import type { HttpResponse } from './http.js';

const MAX_MESSAGE_LENGTH = 300;

/**
 * The server's own words from an error body, whichever shape it uses: Keystone
 * `{"error": {"message"}}`, the vendor's `{"error_code", "error_msg"}`, RFC 6749
 * `{"error", "error_description"}`. Flattened to one line and shortened.
 */
export function serverMessage(body: string): string | undefined {
  let parsed: unknown;
  try {
    parsed = JSON.parse(body);
  } catch {
    return undefined;
  }
  if (typeof parsed !== 'object' || parsed === null) return undefined;
  const value = parsed as Record<string, unknown>;
  const error = value.error;
  let message: unknown;
  if (typeof error === 'object' && error !== null) message = (error as Record<string, unknown>).message;
  else if (typeof value.error_description === 'string') message = `${String(error ?? '')}: ${value.error_description}`.replace(/^: /, '');
  else if (typeof value.error_msg === 'string') message = value.error_code ? `${value.error_msg} (${String(value.error_code)})` : value.error_msg;
  else if (typeof error === 'string') message = error;
  else if (typeof value.message === 'string') message = value.message;
  if (typeof message !== 'string') return undefined;
  const line = oneLine(message);
  return line === '' ? undefined : line;
}

/**
 * A server's text made safe for one terminal line: C0 and C1 controls (terminal escapes) and
 * Unicode line separators become spaces; long text is cut without splitting a surrogate pair.
 */
export function oneLine(text: string): string {
  const flat = text.replace(/[\u0000-\u001f\u007f-\u009f\u2028\u2029]+/g, ' ').replace(/\s+/g, ' ').trim();
  if (flat.length <= MAX_MESSAGE_LENGTH) return flat;
  let cut = MAX_MESSAGE_LENGTH - 1;
  const last = flat.charCodeAt(cut - 1);
  if (last >= 0xd800 && last <= 0xdbff) cut -= 1;
  return `${flat.slice(0, cut)}…`;
}

export interface ErrorContext {
  /** What was being done, e.g. "login to https://iam.example.com/v3". */
  action: string;
  /** A hint for 401/403, the status a user can most often fix. */
  rejectedHint: string;
  notFoundHint?: string;
}

/** Maps a failed answer onto authctl's exit codes, keeping the server's message. */
export function responseError(response: HttpResponse, context: ErrorContext): AuthctlError {
  const said = serverMessage(response.body);
  const status = response.status;
  const detail = said ? `: ${said}` : '';
  if (status === 401 || status === 403) {
    return new RejectedError(`${context.action} was rejected (${status})${detail}`, { hint: context.rejectedHint });
  }
  if (status === 404) {
    return new RejectedError(`${context.action} failed: not found (404)${detail}`, {
      hint: context.notFoundHint ?? context.rejectedHint,
    });
  }
  if (status === 400 || status === 413 || status === 422) {
    return new UsageError(`${context.action} was refused as malformed (${status})${detail}`, {
      hint: 'check the values given (names, ids, durations); debug output shows the request',
    });
  }
  if (status === 405) {
    return new UsageError(`${context.action} failed: method not allowed (405)${detail}`, {
      hint: 'the URL does not point at the endpoint authctl expects; check it',
    });
  }
  if (status >= 500 || status === 429) {
    return new UnreachableError(`${context.action} failed: IAM answered ${status}${detail}`, {
      hint: 'IAM is failing or overloaded; try again later',
    });
  }
  return new UnreachableError(`${context.action} failed: unexpected answer ${status}${detail}`, {
    hint: 'check that the URL points at the IAM service (debug output shows the request)',
  });
}

/** A token from a response header, refused unless it is plausible: present, bounded, printable ASCII. */
export function tokenFromHeader(response: HttpResponse, header: string, origin: string): string {
  const value = response.headers[header.toLowerCase()];
  if (value === undefined || value === '') {
    throw new UnreachableError(`${origin} answered ${response.status} without a token in ${header}`, {
      hint: 'check that the URL points at a Keystone v3 service; nothing was stored',
    });
  }
  if (!isPlausibleToken(value)) {
    throw new UnreachableError(`${origin} sent an implausible token in ${header} (over 64 KiB or not printable ASCII)`, {
      hint: 'nothing was stored; check that the URL points at the IAM service',
    });
  }
  return value;
}

export function parseJsonBody(response: HttpResponse, origin: string): unknown {
  try {
    return JSON.parse(response.body);
  } catch {
    throw new UnreachableError(`${origin} answered ${response.status} with a body that is not JSON`, {
      hint: 'check that the URL points at the IAM service; nothing was stored',
    });
  }
}

/** Parses an ISO-8601 time as IAM writes it (`2018-08-26T08:14:59.632237Z`); undefined if it is not one. */
export function parseIsoTime(value: unknown): number | undefined {
  if (typeof value !== 'string') return undefined;
  const match = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(\.\d+)?(Z|[+-]\d{2}:?\d{2})$/.exec(value);
  if (!match) return undefined;
  const [year, month, day, hour, minute, second] = match.slice(1, 7).map(Number) as [number, number, number, number, number, number];
  // Date.parse rolls impossible dates over (Feb 30 becomes Mar 2): refuse them instead.
  const calendar = new Date(0);
  calendar.setUTCFullYear(year, month - 1, day); // Date.UTC would read years 0-99 as 1900-1999
  if (calendar.getUTCMonth() !== month - 1 || calendar.getUTCDate() !== day || hour > 23 || minute > 59 || second > 59) return undefined;
  // Date.parse handles at most milliseconds; Keystone writes microseconds.
  const ms = Date.parse(value.replace(/(\.\d{3})\d+/, '$1'));
  return Number.isNaN(ms) ? undefined : ms;
}
