/**
 * Property-based tests (fast-check) over everything that reads untrusted text (IAM answers,
 * keychain entries, the config file, durations) and everything that writes text a shell will
 * evaluate. Every property runs with a fixed seed and a bounded number of cases, so a CI failure
 * reproduces exactly: rerun with the seed printed in the report.
 *
 * Quoting is checked against the real shells: each batch of values is written into ONE script,
 * the shell runs it once, and every value comes back through a file of its own (byte for byte:
 * no command substitution, which would eat trailing newlines).
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ExitCode, exitCodeFor } from '../../src/cli/exit.js';
import { AuthctlError, UnreachableError, UsageError } from '../../src/core/errors.js';
import { PROFILE_SCHEMA } from '../../src/settings/table.js';
import { parseDuration } from '../../src/core/duration.js';
import { parseCachedToken, serializeCachedToken, type CachedToken } from '../../src/core/token.js';
import type { HttpResponse } from '../../src/iam/http.js';
import { parseTokenBody, readTokenResponse } from '../../src/iam/keystone.js';
import { oneLine, parseIsoTime, responseError, serverMessage, tokenFromHeader } from '../../src/iam/response.js';
import { checkVariableName, renderVariables } from '../../src/shell/formats.js';
import { cmdSet, dotenvAssign, fishQuote, posixQuote, powershellQuote } from '../../src/shell/quote.js';
import { ChunkedStore } from '../../src/store/chunked.js';
import { ConfigError, parseConfig, PROFILE_NAME_PATTERN, type ConfigData } from '../../src/store/config.js';
import { requireOrSkip } from '../helpers/env.js';
import { MemoryStore } from '../helpers/memory-store.js';

// ---------------------------------------------------------------------------------------------
// Shared oracles and helpers

const MAX_TOKEN_LENGTH = 64 * 1024;
const MAX_MESSAGE_LENGTH = 300;

type Outcome<T> = { ok: true; value: T } | { ok: false; error: unknown };

/** Runs `fn` and keeps what it returned or threw, so assertions happen outside any try/catch. */
function attempt<T>(fn: () => T): Outcome<T> {
  try {
    return { ok: true, value: fn() };
  } catch (error) {
    return { ok: false, error };
  }
}

/** A token authctl may hand out: 1 to 64 KiB of visible ASCII (0x21-0x7e), checked by hand. */
function isPlausibleToken(token: unknown): boolean {
  if (typeof token !== 'string' || token.length === 0 || token.length > MAX_TOKEN_LENGTH) return false;
  for (let i = 0; i < token.length; i++) {
    const code = token.charCodeAt(i);
    if (code < 0x21 || code > 0x7e) return false;
  }
  return true;
}

/** Control characters in Unicode's sense (general category Cc: C0, DEL and C1). */
const CONTROL = /\p{Cc}/u;
/** Everything Unicode (and JavaScript) counts as ending a line. */
const LINE_BREAK = /[\n\r\v\f\u0085\u2028\u2029]/;
/** A lone surrogate: ill-formed UTF-16, printed as U+FFFD. */
const LONE_SURROGATE = /\p{Cs}/u;

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function isFiniteNumber(value: unknown): boolean {
  return typeof value === 'number' && Number.isFinite(value);
}

function isStringArray(value: unknown): boolean {
  return Array.isArray(value) && value.every((item) => typeof item === 'string');
}

/** Problems with a `NamedRef` (and, for users and projects, its `domain`). */
function namedRefProblems(value: unknown, where: string, withDomain: boolean): string[] {
  if (!isRecord(value)) return [`${where} is not an object`];
  const problems: string[] = [];
  if (value.id !== undefined && typeof value.id !== 'string') problems.push(`${where}.id is not a string`);
  if (value.name !== undefined && typeof value.name !== 'string') problems.push(`${where}.name is not a string`);
  if (withDomain && value.domain !== undefined) problems.push(...namedRefProblems(value.domain, `${where}.domain`, false));
  return problems;
}

/** Every way `info` differs from the documented `TokenInfo` type; [] when it matches. */
function tokenInfoProblems(info: Record<string, unknown>): string[] {
  const problems: string[] = [];
  if (!isFiniteNumber(info.expiresAt)) problems.push('expiresAt is not a finite number');
  if (info.issuedAt !== undefined && !isFiniteNumber(info.issuedAt)) problems.push('issuedAt is not a finite number');
  if (info.user !== undefined) problems.push(...namedRefProblems(info.user, 'user', true));
  if (info.project !== undefined) problems.push(...namedRefProblems(info.project, 'project', true));
  if (info.domain !== undefined) problems.push(...namedRefProblems(info.domain, 'domain', false));
  if (info.roles !== undefined && !isStringArray(info.roles)) problems.push('roles is not an array of strings');
  if (info.methods !== undefined && !isStringArray(info.methods)) problems.push('methods is not an array of strings');
  return problems;
}

/** Every way `token` differs from the documented `CachedToken` type; [] when it matches. */
function cachedTokenProblems(token: CachedToken): string[] {
  const value = token as unknown as Record<string, unknown>;
  const problems = tokenInfoProblems(value);
  if (value.v !== 1) problems.push('v is not 1');
  if (typeof value.key !== 'string') problems.push('key is not a string');
  if (typeof value.token !== 'string' || value.token === '') problems.push('token is not a non-empty string');
  if (!isFiniteNumber(value.skewMs)) problems.push('skewMs is not a finite number');
  if (typeof value.issuer !== 'string') problems.push('issuer is not a string');
  return problems;
}

/** A string as JSON with every non-ASCII code unit escaped, so invisible characters show in reports. */
function printable(value: string): string {
  return JSON.stringify(value).replace(/[\u007f-\uffff]/g, (char) => `\\u${char.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

function hex(value: string | Buffer | undefined): string {
  if (value === undefined) return '(missing)';
  return (typeof value === 'string' ? Buffer.from(value, 'utf8') : value).toString('hex');
}

// ---------------------------------------------------------------------------------------------
// Shared arbitraries

/** A JSON number as text, including what JSON.stringify never writes: 1e999, -0.0, 1E-400. */
const jsonNumberText = fc
  .tuple(
    fc.constantFrom('', '-'),
    fc.oneof(fc.constant('0'), fc.stringMatching(/^[1-9][0-9]{0,18}$/)),
    fc.oneof(fc.constant(''), fc.stringMatching(/^\.[0-9]{1,6}$/)),
    fc.oneof(fc.constant(''), fc.tuple(fc.constantFrom('e', 'E', 'e+', 'e-'), fc.integer({ min: 0, max: 999 })).map(([e, n]) => `${e}${n}`)),
  )
  .map((parts) => parts.join(''));

/** Strings a response header might hold: plausible tokens, the 64 KiB boundary, and junk. */
const headerValue = fc.oneof(
  fc.stringMatching(/^[\x21-\x7e]{1,120}$/),
  fc.string({ unit: 'grapheme-ascii' }),
  fc.string({ unit: 'binary' }),
  fc.string({ unit: 'binary-ascii' }),
  fc.constant(''),
  fc.integer({ min: MAX_TOKEN_LENGTH - 3, max: MAX_TOKEN_LENGTH + 3 }).map((length) => 'T'.repeat(length)),
);

/** A Date header: the HTTP form, an ISO form, or anything at all. */
const dateHeader = fc.oneof(
  fc.date({ min: new Date('1990-01-01T00:00:00Z'), max: new Date('2150-01-01T00:00:00Z'), noInvalidDate: true }).map((date) => date.toUTCString()),
  fc.date({ noInvalidDate: true }).map((date) => date.toISOString()),
  fc.string(),
  fc.string({ unit: 'binary' }),
);

/** Header maps with and without the token and Date headers, plus random extras. */
const headerMap = fc
  .tuple(
    fc.record({ 'x-subject-token': headerValue, date: dateHeader }, { requiredKeys: [] }),
    fc.dictionary(fc.oneof(fc.string(), fc.constantFrom('content-type', 'x-subject-token', 'date', 'x-auth-token')), fc.string()),
  )
  .map(([known, extra]) => ({ ...extra, ...known }));

/** The shape IAM writes times in, built from parts so the expected instant is known. */
interface IsoParts {
  year: number;
  month: number;
  day: number;
  hour: number;
  minute: number;
  second: number;
  fraction: string;
  zone: { sign: 1 | -1; hours: number; minutes: number; colon: boolean } | undefined;
}

function pad(value: number, width: number): string {
  return String(value).padStart(width, '0');
}

function formatIso(parts: IsoParts): string {
  const { zone } = parts;
  const offset = zone === undefined ? 'Z' : `${zone.sign > 0 ? '+' : '-'}${pad(zone.hours, 2)}${zone.colon ? ':' : ''}${pad(zone.minutes, 2)}`;
  return `${pad(parts.year, 4)}-${pad(parts.month, 2)}-${pad(parts.day, 2)}T${pad(parts.hour, 2)}:${pad(parts.minute, 2)}:${pad(parts.second, 2)}${parts.fraction}${offset}`;
}

/** The instant `parts` names, computed without Date.parse; fractions below 1 ms are cut off. */
function expectedInstant(parts: IsoParts): number {
  const date = new Date(0);
  date.setUTCFullYear(parts.year, parts.month - 1, parts.day);
  date.setUTCHours(parts.hour, parts.minute, parts.second, parts.fraction === '' ? 0 : Number(parts.fraction.slice(1, 4).padEnd(3, '0')));
  const offsetMs = parts.zone === undefined ? 0 : parts.zone.sign * (parts.zone.hours * 60 + parts.zone.minutes) * 60_000;
  return date.getTime() - offsetMs;
}

function daysInMonth(year: number, month: number): number {
  const leap = year % 4 === 0 && (year % 100 !== 0 || year % 400 === 0);
  return [31, leap ? 29 : 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31][month - 1]!;
}

const zoneArb = fc.option(
  fc.record({ sign: fc.constantFrom<1 | -1>(1, -1), hours: fc.integer({ min: 0, max: 23 }), minutes: fc.integer({ min: 0, max: 59 }), colon: fc.boolean() }),
  { nil: undefined },
);
const fractionArb = fc.oneof(fc.constant(''), fc.stringMatching(/^\.[0-9]{1,9}$/));

/** Real calendar times in IAM's format: any year 0000-9999, any fraction, Z or an offset. */
const validIsoParts: fc.Arbitrary<IsoParts> = fc
  .record({ year: fc.integer({ min: 0, max: 9999 }), month: fc.integer({ min: 1, max: 12 }) })
  .chain(({ year, month }) =>
    fc.record({
      year: fc.constant(year),
      month: fc.constant(month),
      day: fc.integer({ min: 1, max: daysInMonth(year, month) }),
      hour: fc.integer({ min: 0, max: 23 }),
      minute: fc.integer({ min: 0, max: 59 }),
      second: fc.integer({ min: 0, max: 59 }),
      fraction: fractionArb,
      zone: zoneArb,
    }),
  );

/** Any day number 1-31 in any month: some of these dates do not exist. */
const anyDayIsoParts: fc.Arbitrary<IsoParts> = fc.record({
  year: fc.integer({ min: 1970, max: 2100 }),
  month: fc.integer({ min: 1, max: 12 }),
  day: fc.integer({ min: 1, max: 31 }),
  hour: fc.integer({ min: 0, max: 23 }),
  minute: fc.integer({ min: 0, max: 59 }),
  second: fc.integer({ min: 0, max: 59 }),
  fraction: fractionArb,
  zone: fc.constant(undefined),
});

/** Candidates for `expires_at`: real times, near misses, strings and numbers. */
const expiresAtCandidate = fc.oneof(
  validIsoParts.map(formatIso),
  anyDayIsoParts.map(formatIso),
  fc.stringMatching(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,7})?(Z|[+-]\d{2}:?\d{2})$/),
  fc.string(),
  fc.integer(),
  fc.double(),
  fc.jsonValue(),
);

/** A JSON value or a value parsed from JSON text (own `__proto__` keys and all). */
const jsonInput = fc.oneof(fc.jsonValue(), fc.json().map((text): unknown => JSON.parse(text)));

// ---------------------------------------------------------------------------------------------
// 1. Response parsers

describe('Keystone token answers', () => {
  it('parseTokenBody returns an error or a well-typed TokenInfo for any JSON value, and never throws', () => {
    fc.assert(
      fc.property(fc.oneof(jsonInput, fc.record({ token: jsonInput }), fc.record({ token: fc.dictionary(fc.constantFrom('expires_at', 'issued_at', 'user', 'project', 'domain', 'roles', 'methods'), jsonInput) })), (body) => {
        const outcome = attempt(() => parseTokenBody(body));
        if (!outcome.ok) throw new Error(`parseTokenBody threw ${String(outcome.error)}`);
        const result = outcome.value;
        if ('error' in result) expect(typeof result.error).toBe('string');
        else expect(tokenInfoProblems(result as unknown as Record<string, unknown>)).toEqual([]);
      }),
      { seed: 101, numRuns: 1000 },
    );
  });

  it('parseTokenBody takes expires_at exactly when it is a time, and as that time', () => {
    fc.assert(
      fc.property(expiresAtCandidate, fc.jsonValue(), (expiresAt, extra) => {
        const result = parseTokenBody({ token: { expires_at: expiresAt, methods: extra, roles: extra, user: extra } });
        const expected = parseIsoTime(expiresAt);
        if (expected === undefined) {
          expect(result).toHaveProperty('error');
        } else {
          expect(result).toHaveProperty('expiresAt', expected);
          expect(tokenInfoProblems(result as unknown as Record<string, unknown>)).toEqual([]);
        }
      }),
      { seed: 102, numRuns: 1000 },
    );
  });

  it('parseTokenBody carries well-formed descriptive fields over unchanged', () => {
    const ref = fc.record({ id: fc.string(), name: fc.string() }, { requiredKeys: [] }).filter((r) => r.id !== undefined || r.name !== undefined);
    fc.assert(
      fc.property(validIsoParts, ref, ref, ref, fc.array(fc.string()), (time, user, project, domain, names) => {
        const body = { token: { expires_at: formatIso(time), user, project, domain, roles: names.map((name) => ({ id: 'r', name })), methods: names } };
        expect(parseTokenBody(body)).toEqual({ expiresAt: expectedInstant(time), user, project, domain, roles: names, methods: names });
      }),
      { seed: 103, numRuns: 300 },
    );
  });

  it('readTokenResponse throws only UnreachableError, and only returns a plausible, unexpired token', () => {
    let accepted = 0;
    const answer = fc.integer({ min: Date.UTC(2000, 0, 1), max: Date.UTC(2100, 0, 1) }).chain((localNow) =>
      fc.record({
        localNow: fc.constant(localNow),
        status: fc.constantFrom(200, 201),
        headers: fc.tuple(headerMap, fc.option(fc.integer({ min: -1e8, max: 1e8 }), { nil: undefined })).map(([headers, skew]) =>
          skew === undefined ? headers : { ...headers, date: new Date(localNow + skew).toUTCString() },
        ),
        body: fc.oneof(
          fc.string({ unit: 'binary' }),
          fc.json(),
          fc.tuple(fc.integer({ min: -1e7, max: 1e8 }), fc.jsonValue()).map(([ttl, extra]) =>
            JSON.stringify({ token: { expires_at: new Date(localNow + ttl).toISOString(), issued_at: extra, user: extra, roles: extra } }),
          ),
          expiresAtCandidate.map((expiresAt) => JSON.stringify({ token: { expires_at: expiresAt } })),
        ),
      }),
    );
    fc.assert(
      fc.property(answer, ({ localNow, status, headers, body }) => {
        const response: HttpResponse = { status, headers, body };
        const outcome = attempt(() => readTokenResponse(response, 'https://iam.example.com', localNow));
        if (!outcome.ok) {
          expect(outcome.error).toBeInstanceOf(UnreachableError);
          return;
        }
        accepted++;
        const issued = outcome.value;
        expect(isPlausibleToken(issued.token)).toBe(true);
        expect(issued.token).toBe(headers['x-subject-token']);
        expect(Number.isFinite(issued.skewMs)).toBe(true);
        expect(issued.info.expiresAt).toBeGreaterThan(localNow + issued.skewMs);
        expect(tokenInfoProblems(issued.info as unknown as Record<string, unknown>)).toEqual([]);
      }),
      { seed: 104, numRuns: 1000 },
    );
    // The property above must not be vacuous: some answers are good ones.
    expect(accepted).toBeGreaterThan(20);
  });
});

describe('IAM answers in general', () => {
  it('tokenFromHeader returns the header exactly when it is 1 byte to 64 KiB of visible ASCII, else throws UnreachableError', () => {
    fc.assert(
      fc.property(headerMap, fc.mixedCase(fc.constant('x-subject-token')), fc.integer({ min: 100, max: 599 }), (headers, name, status) => {
        const outcome = attempt(() => tokenFromHeader({ status, headers, body: '' }, name, 'https://iam.example.com'));
        const value = headers['x-subject-token'];
        if (isPlausibleToken(value)) {
          expect(outcome).toEqual({ ok: true, value });
        } else {
          expect(outcome.ok).toBe(false);
          if (!outcome.ok) expect(outcome.error).toBeInstanceOf(UnreachableError);
        }
      }),
      { seed: 201, numRuns: 1000 },
    );
  });

  it('tokenFromHeader accepts 64 KiB and refuses one byte more', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 8 }), fc.stringMatching(/^[\x21-\x7e]$/), (extra, char) => {
        const at = (length: number) => attempt(() => tokenFromHeader({ status: 201, headers: { 'x-subject-token': char.repeat(length) }, body: '' }, 'X-Subject-Token', 'o'));
        expect(at(MAX_TOKEN_LENGTH).ok).toBe(true);
        expect(at(MAX_TOKEN_LENGTH + extra).ok).toBe(false);
      }),
      { seed: 202, numRuns: 20 },
    );
  });

  /** Error bodies in every shape serverMessage knows, with hostile message text. */
  const hostileText = fc.oneof(
    fc.string({ unit: 'binary' }),
    fc.string({ unit: 'binary-ascii' }),
    fc.string({ unit: fc.constantFrom('a', ' ', '\n', '\r\n', '\t', '\u0000', '\u001b[31m', '\u007f', '\u0085', '\u009b', '\u2028', '\u00a0', '😀', 'é') }),
    fc.string({ unit: 'grapheme', minLength: 250, maxLength: 400 }),
    fc.tuple(fc.integer({ min: 290, max: 310 }), fc.string({ unit: fc.constantFrom('😀', 'x', ' ', '\n'), minLength: 1, maxLength: 4 })).map(([n, tail]) => 'x'.repeat(n) + tail),
  );
  const errorBody = fc.oneof(
    hostileText.map((message) => JSON.stringify({ error: { message, code: 401, title: 'Unauthorized' } })),
    fc.tuple(hostileText, fc.jsonValue()).map(([msg, code]) => JSON.stringify({ error_code: code, error_msg: msg })),
    fc.tuple(fc.jsonValue(), hostileText).map(([error, description]) => JSON.stringify({ error, error_description: description })),
    hostileText.map((error) => JSON.stringify({ error })),
    hostileText.map((message) => JSON.stringify({ message })),
    fc.json(),
    fc.string({ unit: 'binary' }),
  );

  it('serverMessage returns undefined or one line of at most 300 characters without control characters', () => {
    fc.assert(
      fc.property(errorBody, (body) => {
        const message = serverMessage(body);
        if (message === undefined) return;
        const what = `serverMessage(${printable(body)}) = ${printable(message)}`;
        expect(message.length, what).toBeLessThanOrEqual(MAX_MESSAGE_LENGTH);
        expect(message, what).not.toMatch(LINE_BREAK);
        expect(message, what).not.toMatch(CONTROL);
      }),
      { seed: 203, numRuns: 1000 },
    );
  });

  it('serverMessage returns undefined, never an empty line, when the server said nothing readable', () => {
    fc.assert(
      fc.property(errorBody, (body) => {
        expect(serverMessage(body), `serverMessage(${printable(body)})`).not.toBe('');
      }),
      { seed: 204, numRuns: 1000 },
    );
  });

  it('serverMessage keeps a plain one-line message of up to 300 characters word for word', () => {
    const plain = fc.stringMatching(/^[A-Za-z0-9.,:;'()!?-]+( [A-Za-z0-9.,:;'()!?-]+)*$/).filter((text) => text.length <= MAX_MESSAGE_LENGTH);
    fc.assert(
      fc.property(plain, fc.constantFrom('keystone', 'vendor', 'rfc6749'), (message, shape) => {
        const body =
          shape === 'keystone' ? { error: { message } } : shape === 'vendor' ? { error_msg: message } : { error: 'invalid_client', error_description: message };
        expect(serverMessage(JSON.stringify(body))).toBe(shape === 'rfc6749' ? `invalid_client: ${message}` : message);
      }),
      { seed: 205, numRuns: 300 },
    );
  });

  it('oneLine returns one line of at most 300 characters without control characters, for any text', () => {
    fc.assert(
      fc.property(hostileText, (text) => {
        const line = oneLine(text);
        const what = `oneLine(${printable(text)}) = ${printable(line)}`;
        expect(line.length, what).toBeLessThanOrEqual(MAX_MESSAGE_LENGTH);
        expect(line, what).not.toMatch(LINE_BREAK);
        expect(line, what).not.toMatch(CONTROL);
      }),
      { seed: 206, numRuns: 1000 },
    );
  });

  it('oneLine never cuts a surrogate pair in two when it shortens', () => {
    fc.assert(
      fc.property(fc.string({ unit: fc.constantFrom('a', ' ', '😀', '日'), minLength: 280, maxLength: 340 }), (text) => {
        const line = oneLine(text);
        expect(line, `oneLine(${printable(text)}) ends ${printable(line.slice(-3))}`).not.toMatch(LONE_SURROGATE);
      }),
      { seed: 207, numRuns: 300 },
    );
  });

  it('responseError maps every status to its exit code and keeps the message to one line', () => {
    const expectedExitCode = (status: number): ExitCode => {
      if (status === 401 || status === 403 || status === 404) return ExitCode.Rejected;
      if (status === 400 || status === 405 || status === 413 || status === 422) return ExitCode.Usage;
      return ExitCode.Unreachable;
    };
    fc.assert(
      fc.property(fc.oneof(fc.integer({ min: 100, max: 599 }), fc.constantFrom(400, 401, 403, 404, 405, 413, 422, 429, 500, 503), fc.integer()), errorBody, (status, body) => {
        const response: HttpResponse = { status, headers: {}, body };
        const outcome = attempt(() => responseError(response, { action: 'login to https://iam.example.com/v3', rejectedHint: 'check the password' }));
        expect(outcome.ok).toBe(true);
        if (!outcome.ok) return;
        const error = outcome.value;
        expect(error).toBeInstanceOf(AuthctlError);
        expect(exitCodeFor(error)).toBe(expectedExitCode(status));
        expect(error.message).not.toMatch(/[\n\r]/);
        const said = serverMessage(body);
        if (said) expect(error.message).toContain(said);
      }),
      { seed: 208, numRuns: 1000 },
    );
  });

  it('parseIsoTime reads any real time in IAM format as exactly that instant', () => {
    fc.assert(
      fc.property(validIsoParts, (parts) => {
        expect(parseIsoTime(formatIso(parts))).toBe(expectedInstant(parts));
      }),
      { seed: 209, numRuns: 1000 },
    );
  });

  it('parseIsoTime returns undefined or a finite whole number of milliseconds for anything', () => {
    fc.assert(
      fc.property(fc.oneof(expiresAtCandidate, fc.anything()), (value) => {
        const result = parseIsoTime(value);
        if (result !== undefined) expect(Number.isSafeInteger(result)).toBe(true);
      }),
      { seed: 210, numRuns: 1000 },
    );
  });

  it('parseIsoTime refuses dates that do not exist rather than rolling them over', () => {
    fc.assert(
      fc.property(anyDayIsoParts, (parts) => {
        const result = parseIsoTime(formatIso(parts));
        if (result === undefined) return;
        const read = new Date(result);
        expect([read.getUTCFullYear(), read.getUTCMonth() + 1, read.getUTCDate()]).toEqual([parts.year, parts.month, parts.day]);
      }),
      { seed: 211, numRuns: 1000 },
    );
  });
});

// ---------------------------------------------------------------------------------------------
// Keychain entries

/** JSON text shaped like a cache entry, each field mostly well-typed and sometimes anything. */
const cachedTokenText = (() => {
  const str = fc.string({ unit: 'binary' }).map((s) => JSON.stringify(s));
  const num = fc.oneof(fc.integer().map(String), fc.double({ noNaN: true, noDefaultInfinity: true }).map(String), jsonNumberText);
  const objectText = (fields: Record<string, string | undefined>) =>
    `{${Object.entries(fields).flatMap(([key, text]) => (text === undefined ? [] : [`${JSON.stringify(key)}:${text}`])).join(',')}}`;
  const domainText = fc.record({ id: str, name: str }, { requiredKeys: [] }).map(objectText);
  const refText = fc.record({ id: str, name: str, domain: domainText }, { requiredKeys: [] }).map(objectText);
  const field = (wellTyped: fc.Arbitrary<string>) => fc.oneof({ arbitrary: wellTyped, weight: 6 }, { arbitrary: fc.json(), weight: 1 });
  const tokenText = fc.oneof(fc.stringMatching(/^[\x21-\x7e]{1,80}$/), fc.string({ unit: 'binary' }), fc.string({ unit: 'binary-ascii' })).map((s) => JSON.stringify(s));
  const required = (arb: fc.Arbitrary<string>) => fc.option(field(arb), { freq: 20, nil: undefined });
  const optional = (arb: fc.Arbitrary<string>) => fc.option(field(arb), { freq: 2, nil: undefined });
  return fc
    .record({
      v: required(fc.constant('1')),
      key: required(str),
      token: required(tokenText),
      expiresAt: required(num),
      skewMs: required(num),
      issuer: required(str),
      issuedAt: optional(num),
      user: optional(refText),
      project: optional(refText),
      domain: optional(refText),
      roles: optional(fc.array(fc.string()).map(JSON.stringify)),
      methods: optional(fc.array(fc.string()).map(JSON.stringify)),
    })
    .map(objectText);
})();

describe('cached tokens read back from the keychain', () => {
  it('parseCachedToken yields undefined or a value whose every field has its documented type', () => {
    let accepted = 0;
    fc.assert(
      fc.property(fc.oneof(cachedTokenText, fc.json(), fc.string({ unit: 'binary' })), (text) => {
        const token = parseCachedToken(text);
        if (token === undefined) return;
        accepted++;
        expect(cachedTokenProblems(token), `parseCachedToken(${printable(text)})`).toEqual([]);
      }),
      { seed: 301, numRuns: 1000 },
    );
    expect(accepted).toBeGreaterThan(20);
  });

  it('parseCachedToken never yields a token that is not 1 byte to 64 KiB of visible ASCII', () => {
    fc.assert(
      fc.property(fc.oneof(cachedTokenText, fc.json()), (text) => {
        const token = parseCachedToken(text);
        if (token !== undefined) expect(isPlausibleToken(token.token), `parseCachedToken(${printable(text)}).token = ${printable(token.token)}`).toBe(true);
      }),
      { seed: 302, numRuns: 1000 },
    );
  });

  it('parseCachedToken reads back exactly what serializeCachedToken wrote', () => {
    const ref = fc.record({ id: fc.string(), name: fc.string() }, { requiredKeys: [] });
    const cached: fc.Arbitrary<CachedToken> = fc.record(
      {
        v: fc.constant(1 as const),
        key: fc.string(),
        token: fc.stringMatching(/^[\x21-\x7e]{1,200}$/),
        expiresAt: fc.integer({ min: 0, max: 8.64e15 }),
        skewMs: fc.integer({ min: -1e10, max: 1e10 }),
        issuer: fc.webUrl(),
        issuedAt: fc.integer({ min: 0, max: 8.64e15 }),
        user: fc.tuple(ref, ref).map(([user, domain]) => ({ ...user, domain })),
        project: ref,
        domain: ref,
        roles: fc.array(fc.string()),
        methods: fc.array(fc.string()),
      },
      { requiredKeys: ['v', 'key', 'token', 'expiresAt', 'skewMs', 'issuer'] },
    );
    fc.assert(
      fc.property(cached, (token) => {
        expect(parseCachedToken(serializeCachedToken(token))).toEqual(token);
      }),
      { seed: 303, numRuns: 300 },
    );
  });
});

// ---------------------------------------------------------------------------------------------
// The config file

const STRING_SETTING_KEYS = ['authUrl', 'username', 'userId', 'userDomain', 'userDomainId', 'projectId', 'project', 'projectDomain', 'projectDomainId', 'domain', 'domainId', 'region', 'tokenUrl', 'clientId', 'cacert'] as const;
const BOOLEAN_SETTING_KEYS = ['unscoped', 'allowHttp', 'insecure'] as const;

const profileName = fc.stringMatching(/^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/);

/** A well-formed profile, sometimes with one setting of the wrong type. */
const profileSettings = fc.record(
  {
    ...Object.fromEntries(STRING_SETTING_KEYS.map((key) => [key, fc.oneof({ arbitrary: fc.string(), weight: 8 }, { arbitrary: fc.jsonValue(), weight: 1 })])),
    ...Object.fromEntries(BOOLEAN_SETTING_KEYS.map((key) => [key, fc.oneof({ arbitrary: fc.boolean(), weight: 8 }, { arbitrary: fc.jsonValue(), weight: 1 })])),
    kind: fc.oneof({ arbitrary: fc.constantFrom('keystone', 'oauth2'), weight: 8 }, { arbitrary: fc.jsonValue(), weight: 1 }),
    store: fc.oneof({ arbitrary: fc.constantFrom('keychain', 'file'), weight: 8 }, { arbitrary: fc.jsonValue(), weight: 1 }),
  },
  { requiredKeys: [] },
);

const configText = fc.oneof(
  fc.string({ unit: 'binary' }),
  fc.json(),
  fc
    .record(
      {
        defaultProfile: fc.oneof({ arbitrary: profileName, weight: 5 }, { arbitrary: fc.jsonValue(), weight: 1 }),
        profiles: fc.oneof(
          { arbitrary: fc.dictionary(fc.oneof({ arbitrary: profileName, weight: 8 }, { arbitrary: fc.string(), weight: 1 }), fc.oneof({ arbitrary: profileSettings, weight: 8 }, { arbitrary: fc.jsonValue(), weight: 1 })), weight: 8 },
          { arbitrary: fc.jsonValue(), weight: 1 },
        ),
      },
      { requiredKeys: [] },
    )
    .map((data) => JSON.stringify(data)),
);

function configDataProblems(data: ConfigData): string[] {
  const problems: string[] = [];
  if (data.defaultProfile !== undefined && !PROFILE_NAME_PATTERN.test(data.defaultProfile)) problems.push('defaultProfile is not a profile name');
  if (!isRecord(data.profiles)) return [...problems, 'profiles is not an object'];
  for (const [name, settings] of Object.entries(data.profiles)) {
    if (!PROFILE_NAME_PATTERN.test(name)) problems.push(`${JSON.stringify(name)} is not a profile name`);
    const raw = settings as unknown as Record<string, unknown>;
    for (const [key, value] of Object.entries(raw)) {
      if ((STRING_SETTING_KEYS as readonly string[]).includes(key)) {
        if (typeof value !== 'string') problems.push(`${name}.${key} is not a string`);
      } else if ((BOOLEAN_SETTING_KEYS as readonly string[]).includes(key)) {
        if (typeof value !== 'boolean') problems.push(`${name}.${key} is not a boolean`);
      } else if (key === 'kind') {
        if (value !== 'keystone' && value !== 'oauth2') problems.push(`${name}.kind is ${JSON.stringify(value)}`);
      } else if (key === 'store') {
        if (value !== 'keychain' && value !== 'file') problems.push(`${name}.store is ${JSON.stringify(value)}`);
      } else {
        problems.push(`${name}.${key} is not a setting`);
      }
    }
  }
  return problems;
}

describe('the config file', () => {
  it('parseConfig returns well-typed settings or throws a ConfigError naming the file', () => {
    let accepted = 0;
    fc.assert(
      fc.property(configText, fc.oneof(fc.constant('/home/u/.config/authctl/config.json'), fc.string({ unit: 'binary' })), (text, path) => {
        const outcome = attempt(() => parseConfig(text, path, PROFILE_SCHEMA));
        if (!outcome.ok) {
          expect(outcome.error).toBeInstanceOf(ConfigError);
          expect((outcome.error as ConfigError).message).toContain(path);
          expect(exitCodeFor(outcome.error as ConfigError)).toBe(ExitCode.Usage);
          return;
        }
        accepted++;
        expect(configDataProblems(outcome.value)).toEqual([]);
      }),
      { seed: 401, numRuns: 1000 },
    );
    expect(accepted).toBeGreaterThan(20);
  });

  it('parseConfig reads back any well-formed config exactly', () => {
    const settings = fc.record(
      {
        ...Object.fromEntries(STRING_SETTING_KEYS.map((key) => [key, fc.string()])),
        ...Object.fromEntries(BOOLEAN_SETTING_KEYS.map((key) => [key, fc.boolean()])),
        kind: fc.constantFrom('keystone', 'oauth2'),
        store: fc.constantFrom('keychain', 'file'),
      },
      { requiredKeys: [] },
    );
    const data = fc.record({ defaultProfile: profileName, profiles: fc.dictionary(profileName, settings) }, { requiredKeys: ['profiles'] });
    fc.assert(
      fc.property(data, (config) => {
        expect(parseConfig(JSON.stringify(config), 'config.json', PROFILE_SCHEMA)).toEqual(config);
      }),
      { seed: 402, numRuns: 300 },
    );
  });
});

// ---------------------------------------------------------------------------------------------
// Durations

const UNIT_SECONDS = { s: 1n, m: 60n, h: 3600n, d: 86400n } as const;
type DurationUnit = keyof typeof UNIT_SECONDS;
const durationUnit = fc.constantFrom<DurationUnit>('s', 'm', 'h', 'd');

describe('durations', () => {
  it('parseDuration reads any non-negative safe integer back as itself', () => {
    fc.assert(
      fc.property(fc.maxSafeNat(), fc.constantFrom('', ' ', '\t', '\n'), (n, space) => {
        expect(parseDuration(`${space}${String(n)}${space}`)).toBe(n);
      }),
      { seed: 501, numRuns: 1000 },
    );
  });

  it('parseDuration sums combined units (1h30m, 2d5s, 10m10m)', () => {
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.nat({ max: 1_000_000 }), durationUnit), { minLength: 1, maxLength: 6 }), (pieces) => {
        const text = pieces.map(([amount, unit]) => `${amount}${unit}`).join('');
        const expected = pieces.reduce((sum, [amount, unit]) => sum + BigInt(amount) * UNIT_SECONDS[unit], 0n);
        expect(parseDuration(text), text).toBe(Number(expected));
      }),
      { seed: 502, numRuns: 1000 },
    );
  });

  it('parseDuration returns the exact number of seconds as a safe integer, or undefined; never a rounded number', () => {
    const amount = fc.oneof(fc.nat().map(String), fc.stringMatching(/^[0-9]{1,22}$/, { size: 'max' }));
    const text = fc.oneof(
      amount.map((digits) => ({ text: digits, exact: BigInt(digits) })),
      fc.array(fc.tuple(amount, durationUnit), { minLength: 1, maxLength: 4 }).map((pieces) => ({
        text: pieces.map(([digits, unit]) => `${digits}${unit}`).join(''),
        exact: pieces.reduce((sum, [digits, unit]) => sum + BigInt(digits) * UNIT_SECONDS[unit], 0n),
      })),
    );
    fc.assert(
      fc.property(text, ({ text: input, exact }) => {
        const result = parseDuration(input);
        if (exact <= BigInt(Number.MAX_SAFE_INTEGER)) expect(result, input).toBe(Number(exact));
        else expect(result, `parseDuration(${printable(input)}) where the exact value is ${exact}`).toBeUndefined();
      }),
      { seed: 503, numRuns: 1000 },
    );
  });

  it('parseDuration refuses anything that is not digits with optional s/m/h/d units', () => {
    fc.assert(
      fc.property(fc.string({ unit: fc.constantFrom('1', '0', '9', 's', 'm', 'h', 'd', 'x', '.', '-', '+', ' ', 'e', '١', 'H') }), (input) => {
        const result = parseDuration(input);
        if (!/^(\d+|(\d+[smhd])+)$/.test(input.trim())) expect(result).toBeUndefined();
        else if (result !== undefined) expect(Number.isSafeInteger(result) && result >= 0).toBe(true);
      }),
      { seed: 504, numRuns: 1000 },
    );
  });
});

// ---------------------------------------------------------------------------------------------
// The chunked store

/** One unit of a stored value: ASCII, any code point, astral (surrogate pairs), or a lone surrogate. */
const storeUnit = fc.oneof(
  fc.constantFrom('a', 'Z', '0', '{', '"'),
  fc.string({ unit: 'binary', minLength: 1, maxLength: 1 }),
  fc.integer({ min: 0x10000, max: 0x10ffff }).map((code) => String.fromCodePoint(code)),
  fc.integer({ min: 0xd800, max: 0xdfff }).map((code) => String.fromCharCode(code)),
);

/** Values from empty to ~24 000 code units: random text, and random text repeated to size. */
const storedValue = fc.oneof(
  fc.string({ unit: storeUnit, maxLength: 600, size: 'max' }),
  fc.tuple(fc.string({ unit: storeUnit, minLength: 1, maxLength: 300, size: 'max' }), fc.integer({ min: 1, max: 40 }), fc.string({ unit: storeUnit, maxLength: 300, size: 'max' })).map(
    ([chunk, times, tail]) => chunk.repeat(times) + tail,
  ),
);

/** ChunkedStore's documented floor: room for a manifest (a smaller limit is raised to it). */
const MIN_ENTRY_LIMIT = 256;
const entryLimit = fc.integer({ min: MIN_ENTRY_LIMIT, max: 5000 });

async function storeWith(limit: number, value: string): Promise<{ memory: MemoryStore; store: ChunkedStore }> {
  const memory = new MemoryStore();
  const store = new ChunkedStore(memory, limit);
  await store.write('profile:default', value);
  return { memory, store };
}

describe('the chunked store over a memory store', () => {
  it('reads back exactly what it wrote, whatever the value and the entry limit', async () => {
    await fc.assert(
      fc.asyncProperty(storedValue, entryLimit, async (value, limit) => {
        const { store } = await storeWith(limit, value);
        expect(await store.read('profile:default')).toEqual({ value });
      }),
      { seed: 601, numRuns: 300 },
    );
  });

  it('keeps every entry it writes within the entry limit, manifest included', async () => {
    await fc.assert(
      fc.asyncProperty(storedValue, entryLimit, async (value, limit) => {
        const { memory } = await storeWith(limit, value);
        const tooLong = [...memory.entries].filter(([, entry]) => entry.length > limit).map(([account, entry]) => `${account}: ${entry.length} > ${limit}`);
        expect(tooLong).toEqual([]);
      }),
      { seed: 602, numRuns: 300 },
    );
  });

  it('reads a value with one part deleted or altered as a problem, never as another value', async () => {
    const corruption = fc.record({
      part: fc.nat(),
      how: fc.constantFrom('delete', 'replace', 'truncate', 'append', 'swap'),
      replacement: fc.string({ unit: storeUnit, maxLength: 80 }),
      at: fc.nat(),
    });
    const small = fc.integer({ min: MIN_ENTRY_LIMIT, max: 700 });
    await fc.assert(
      fc.asyncProperty(storedValue, small, corruption, async (value, limit, { part, how, replacement, at }) => {
        fc.pre(value.length + 'authctl1:'.length > limit);
        const { memory, store } = await storeWith(limit, value);
        const parts = [...memory.entries.keys()].filter((account) => account !== 'profile:default');
        const account = parts[part % parts.length]!;
        const original = memory.entries.get(account)!;
        if (how === 'delete') memory.entries.delete(account);
        else if (how === 'replace') memory.entries.set(account, replacement === original ? `${replacement}x` : replacement);
        else if (how === 'truncate') memory.entries.set(account, original.slice(0, at % original.length));
        else if (how === 'append') memory.entries.set(account, original + (replacement || 'x'));
        else memory.entries.set(account, memory.entries.get(parts[(part + 1) % parts.length]!)!);
        const changed = memory.entries.get(account) !== original;
        const read = await store.read('profile:default');
        if (changed) expect(read).toEqual({ problem: 'incomplete' });
        else expect(read).toEqual({ value });
      }),
      { seed: 603, numRuns: 300 },
    );
  });

  it('reads a value whose manifest was altered or cut short as a problem or a miss, never as another value', async () => {
    const small = fc.integer({ min: MIN_ENTRY_LIMIT, max: 700 });
    await fc.assert(
      fc.asyncProperty(storedValue, small, fc.nat(), fc.string({ unit: 'binary', minLength: 1, maxLength: 1 }), fc.boolean(), async (value, limit, at, char, truncate) => {
        fc.pre(value.length + 'authctl1:'.length > limit);
        const { memory, store } = await storeWith(limit, value);
        const head = memory.entries.get('profile:default')!;
        // The 9-character marker is left alone: flipping `*` to `:` turns the manifest into a
        // small value by design (small values carry no checksum).
        const index = 9 + (at % (head.length - 9));
        const altered = truncate ? head.slice(0, index) : head.slice(0, index) + char + head.slice(index + 1);
        memory.entries.set('profile:default', altered);
        const read = await store.read('profile:default');
        if (altered === head) expect(read).toEqual({ value });
        else expect(read.value).toBeUndefined();
      }),
      { seed: 604, numRuns: 300 },
    );
  });

  it('keeps only the new value and the generation it replaced, and delete empties the store', async () => {
    await fc.assert(
      fc.asyncProperty(storedValue, storedValue, fc.integer({ min: MIN_ENTRY_LIMIT, max: 700 }), async (first, second, limit) => {
        const { memory, store } = await storeWith(limit, first);
        const firstParts = memory.entries.size - 1;
        await store.write('profile:default', second);
        const fresh = await storeWith(limit, second);
        const secondParts = fresh.memory.entries.size - 1;
        expect(await store.read('profile:default')).toEqual({ value: second });
        // A split value's manifest keeps the generation it replaced, for readers of the old manifest.
        expect(memory.entries.size).toBe(1 + secondParts + (secondParts > 0 ? firstParts : 0));
        await store.write('profile:default', second);
        expect(memory.entries.size).toBe(1 + secondParts + secondParts);
        await store.delete('profile:default');
        expect(memory.entries.size).toBe(0);
      }),
      { seed: 605, numRuns: 200 },
    );
  });

  it('refuses, and leaves the previous value, a value that would need more than 4096 parts', async () => {
    await fc.assert(
      fc.asyncProperty(fc.integer({ min: MIN_ENTRY_LIMIT, max: 300 }), fc.integer({ min: 1, max: 200 }), async (limit, extra) => {
        const { memory, store } = await storeWith(limit, 'previous value');
        const tooLarge = 'x'.repeat(limit * 4096 + extra);
        await expect(store.write('profile:default', tooLarge)).rejects.toThrow(RangeError);
        expect(await store.read('profile:default')).toEqual({ value: 'previous value' });
        expect(memory.entries.size).toBe(1);
      }),
      { seed: 606, numRuns: 10 },
    );
  });

  it('raises a limit below the manifest floor to the floor', async () => {
    await fc.assert(
      fc.asyncProperty(fc.integer({ min: 1, max: MIN_ENTRY_LIMIT - 1 }), storedValue, async (limit, value) => {
        const { memory, store } = await storeWith(limit, value);
        for (const entry of memory.entries.values()) expect(entry.length).toBeLessThanOrEqual(MIN_ENTRY_LIMIT);
        expect(await store.read('profile:default')).toEqual({ value });
      }),
      { seed: 607, numRuns: 100 },
    );
  });
});

// ---------------------------------------------------------------------------------------------
// 2. Shell quoting, evaluated by the real shells

/** Pieces that mean something to some shell, or to a terminal, or to Unicode. */
const HOSTILE_PIECES = [
  "'", '"', '\\', '$', '`', '(', ')', '{', '}', '[', ']', '*', '?', '~', '!', '#', ';', '&', '|', '<', '>', '^', '%', '=', '-', '-e', '--',
  ' ', '\t', '\n', '\r', '\r\n', '\u001b', '\u007f', '\u0085', '\u00a0', '\u2028', '\u2018', '\u2019', '\u201b',
  'é', 'e\u0301', '😀', '\u{F600}', '\u{FDD0}', '\u{FFFE}', '\u{10FFFF}',
  '$(touch PWNED)', '`touch PWNED`', '(touch PWNED)', '; touch PWNED', '&& touch PWNED', '| touch PWNED', '$HOME', '${HOME}', '$Env:HOME', '%PATH%',
  "\\'", '\\\\', "'\\''", 'x',
];

/** Shell values: NUL is left out, since no shell variable can hold one. */
const shellValue = fc
  .tuple(
    fc.oneof(
      fc.string({ unit: 'grapheme', maxLength: 30, size: 'max' }),
      fc.string({ unit: 'binary', maxLength: 30, size: 'max' }),
      fc.string({ unit: 'binary-ascii', maxLength: 30, size: 'max' }),
      fc.string({ unit: fc.constantFrom(...HOSTILE_PIECES), maxLength: 12, size: 'max' }),
    ),
    fc.constantFrom('', '', '', '\n', '\n\n', '\\', "'"),
  )
  .map(([text, end]) => (text + end).replaceAll('\0', ''));

const BATCH = 200;
const shellBatch = fc.array(shellValue, { minLength: 1, maxLength: BATCH, size: 'max' });

interface RealShell {
  format: 'sh' | 'bash' | 'zsh' | 'fish';
  binary: string;
  /** Arguments before the script's path: no rc files. */
  args: readonly string[];
  quote(value: string): string;
  /** A statement that assigns the literal `quoted` to the shell variable `name`. */
  assign(name: string, quoted: string): string;
  /** Runs the file as the README tells users to: `eval "$(authctl export)"`, `... | source`. */
  evaluate(file: string): string;
}

const posixStatements = {
  quote: posixQuote,
  assign: (name: string, quoted: string) => `${name}=${quoted}`,
  evaluate: (file: string) => `eval "$(cat ${file})"`,
};

const SHELLS: RealShell[] = [
  { format: 'sh', binary: '/usr/bin/dash', args: [], ...posixStatements },
  { format: 'bash', binary: '/usr/bin/bash', args: ['--norc', '--noprofile'], ...posixStatements },
  { format: 'zsh', binary: '/usr/bin/zsh', args: ['-f'], ...posixStatements },
  {
    format: 'fish',
    binary: '/usr/bin/fish',
    args: ['--no-config'],
    quote: fishQuote,
    assign: (name, quoted) => `set ${name} ${quoted}`,
    evaluate: (file) => `source ${file}`,
  },
];

const LOCALES = ['C.UTF-8', 'C'] as const;

interface ShellRun {
  status: number | null;
  stdout: string;
  stderr: string;
  /** What the script left in its working directory: must be nothing. */
  cwdFiles: string[];
  /** Reads a file the script wrote under its output directory. */
  output(name: string): Buffer | undefined;
}

/**
 * Runs `script(out, dir)` once in `shell`, in a fresh empty working directory and HOME, and
 * keeps what it wrote under `out`. Paths are plain, so they go into scripts unquoted.
 */
function runShell(shell: RealShell, locale: string, files: Record<string, string>, script: (out: string, dir: string) => string): ShellRun {
  const base = mkdtempSync(join(tmpdir(), `authctl-fuzz-${shell.format}-`));
  if (!/^[A-Za-z0-9_./-]+$/.test(base)) throw new Error(`temporary directory ${base} needs quoting`);
  try {
    const [home, cwd, out, dir] = ['home', 'cwd', 'out', 'in'].map((name) => join(base, name)) as [string, string, string, string];
    for (const path of [home, cwd, out, dir]) mkdirSync(path);
    for (const [name, text] of Object.entries(files)) writeFileSync(join(dir, name), text);
    writeFileSync(join(base, 'script'), script(out, dir));
    const result = spawnSync(shell.binary, [...shell.args, join(base, 'script')], {
      cwd,
      encoding: 'utf8',
      timeout: 20_000,
      env: { PATH: '/usr/bin:/bin', HOME: home, LC_ALL: locale },
    });
    const outputs = new Map(readdirSync(out).map((name) => [name, readFileSync(join(out, name))]));
    return { status: result.status, stdout: result.stdout, stderr: result.stderr, cwdFiles: readdirSync(cwd), output: (name) => outputs.get(name) };
  } finally {
    rmSync(base, { recursive: true, force: true });
  }
}

/** `env -0` output as a map, keeping only the variables the test set. */
function fuzzVariables(dump: Buffer | undefined): Map<string, string> {
  const variables = new Map<string, string>();
  if (dump === undefined) return variables;
  let start = 0;
  while (start < dump.length) {
    let end = dump.indexOf(0, start);
    if (end === -1) end = dump.length;
    const entry = dump.subarray(start, end);
    const equals = entry.indexOf(0x3d);
    const name = entry.subarray(0, equals).toString('latin1');
    if (name.startsWith('FZ_')) variables.set(name, entry.subarray(equals + 1).toString('hex'));
    start = end + 1;
  }
  return variables;
}

const available = SHELLS.filter((shell) =>
  requireOrSkip(existsSync(shell.binary) ? undefined : `${shell.binary} is missing: apt-get install -y dash bash zsh fish`, `fuzz: quoting for ${shell.format}`),
);

describe.each(available)('quoting for $format, evaluated by $binary', (shell) => {
  const seedBase = 700 + 10 * SHELLS.indexOf(shell);

  it.each(LOCALES)(`${shell.quote.name} assigns each value exactly and runs nothing (LC_ALL=%s)`, (locale) => {
    fc.assert(
      fc.property(shellBatch, (values) => {
        const run = runShell(shell, locale, {}, (out) =>
          values.map((value, i) => `${shell.assign(`v${i}`, shell.quote(value))}\nprintf %s "$v${i}" > ${out}/${i}\n`).join(''),
        );
        const wrong = values.flatMap((value, i) => {
          const actual = run.output(String(i));
          return actual !== undefined && actual.equals(Buffer.from(value, 'utf8')) ? [] : [{ value: printable(value), quoted: printable(shell.quote(value)), expected: hex(value), actual: hex(actual) }];
        });
        expect({ status: run.status, stderr: run.stderr, cwdFiles: run.cwdFiles, wrong }).toEqual({ status: 0, stderr: '', cwdFiles: [], wrong: [] });
      }),
      { seed: seedBase + (locale === 'C' ? 1 : 0), numRuns: 5 },
    );
  });

  it.each(LOCALES)(`renderVariables('${shell.format}') exports each value exactly, runs nothing, and --unset removes them (LC_ALL=%s)`, (locale) => {
    fc.assert(
      fc.property(shellBatch, (values) => {
        const variables = new Map(values.map((value, i) => [`FZ_${i}`, value]));
        const files = { set: renderVariables(shell.format, variables), unset: renderVariables(shell.format, variables, true) };
        const run = runShell(shell, locale, files, (out, dir) =>
          [shell.evaluate(`${dir}/set`), `env -0 > ${out}/env-set`, shell.evaluate(`${dir}/unset`), `env -0 > ${out}/env-unset`, ''].join('\n'),
        );
        const exported = fuzzVariables(run.output('env-set'));
        const wrong = [...variables].flatMap(([name, value]) =>
          exported.get(name) === hex(value) ? [] : [{ name, value: printable(value), expected: hex(value), actual: exported.get(name) ?? '(not exported)' }],
        );
        expect({ status: run.status, stdout: run.stdout, stderr: run.stderr, cwdFiles: run.cwdFiles, wrong, exported: exported.size }).toEqual({
          status: 0,
          stdout: '',
          stderr: '',
          cwdFiles: [],
          wrong: [],
          exported: variables.size,
        });
        expect([...fuzzVariables(run.output('env-unset')).keys()]).toEqual([]);
      }),
      { seed: seedBase + 2 + (locale === 'C' ? 1 : 0), numRuns: 5 },
    );
  });
});

// ---------------------------------------------------------------------------------------------
// Quoting for the formats no shell here can run

const PS_QUOTES = new Set(["'", '\u2018', '\u2019', '\u201a', '\u201b']);

/**
 * PowerShell's tokenizer for a single-quoted string (ScanStringLiteral): any of the five
 * single-quote characters ends it, unless another one follows, which stands for itself.
 */
function readPowershellLiteral(text: string): { value: string; rest: string } | undefined {
  if (!PS_QUOTES.has(text[0] ?? '')) return undefined;
  let value = '';
  for (let i = 1; i < text.length; i++) {
    const char = text[i]!;
    if (PS_QUOTES.has(char)) {
      if (!PS_QUOTES.has(text[i + 1] ?? '')) return { value, rest: text.slice(i + 1) };
      i++;
      value += text[i]!;
    } else {
      value += char;
    }
  }
  return undefined;
}

/** Values for formats without a shell to run: arbitrary text plus the pieces that matter there. */
const anyValue = fc.oneof(
  fc.string({ unit: 'binary' }),
  fc.string({ unit: 'grapheme' }),
  fc.string({ unit: fc.constantFrom(...HOSTILE_PIECES, '\u201a', '\0', '%%', '${X}', '$X', '"&calc', '^') }),
);
const variableName = fc.stringMatching(/^[A-Za-z_][A-Za-z0-9_]{0,20}$/);

describe('quoting for PowerShell, cmd.exe and .env files', () => {
  it('powershellQuote is one single-quoted literal, every quote character inside doubled, reading back as the value', () => {
    fc.assert(
      fc.property(anyValue, (value) => {
        const quoted = powershellQuote(value);
        expect(quoted.startsWith("'") && quoted.endsWith("'")).toBe(true);
        expect(quoted.slice(1, -1).replace(/(['\u2018-\u201b])\1/g, '')).not.toMatch(/['\u2018-\u201b]/);
        expect(readPowershellLiteral(quoted)).toEqual({ value, rest: '' });
      }),
      { seed: 801, numRuns: 1000 },
    );
  });

  it('cmdSet refuses a value with a line break, NUL or double quote, else writes one line that reads back as the value', () => {
    fc.assert(
      fc.property(variableName, anyValue, (name, value) => {
        const outcome = attempt(() => cmdSet(name, value));
        if (/[\r\n\0"]/.test(value)) {
          expect(outcome.ok).toBe(false);
          if (!outcome.ok) expect(outcome.error).toBeInstanceOf(UsageError);
          return;
        }
        expect(outcome.ok).toBe(true);
        if (!outcome.ok) return;
        const line = outcome.value;
        expect(line).not.toMatch(/[\r\n]/);
        const prefix = `set "${name}=`;
        expect(line.startsWith(prefix) && line.endsWith('"')).toBe(true);
        const inner = line.slice(prefix.length, -1);
        expect(inner.replace(/%%/g, '')).not.toContain('%');
        expect(inner.replace(/%%/g, '%')).toBe(value);
      }),
      { seed: 802, numRuns: 1000 },
    );
  });

  it('cmdSet leaves no & | < > ^ outside the quotes, as cmd.exe toggles quoting at each "', () => {
    fc.assert(
      fc.property(variableName, anyValue, (name, value) => {
        const outcome = attempt(() => cmdSet(name, value));
        if (!outcome.ok) return;
        let quoted = false;
        const exposed: string[] = [];
        for (const char of outcome.value) {
          if (char === '"') quoted = !quoted;
          else if (!quoted && '&|<>^'.includes(char)) exposed.push(char);
        }
        expect(exposed, `cmdSet(${printable(name)}, ${printable(value)}) = ${printable(outcome.value)}`).toEqual([]);
      }),
      { seed: 803, numRuns: 1000 },
    );
  });

  it('dotenvAssign refuses exactly the values with an expandable $ or a backslash, else writes one line that reads back as the value', () => {
    /** The documented reading: '...' literal; "..." with \\ \" \n \r escapes. */
    const readBack = (line: string, name: string): string | undefined => {
      if (!line.startsWith(`${name}=`)) return undefined;
      const quoted = line.slice(name.length + 1);
      if (quoted.length < 2) return undefined;
      const [open, close, inner] = [quoted[0], quoted[quoted.length - 1], quoted.slice(1, -1)];
      if (open === "'" && close === "'") return inner.includes("'") ? undefined : inner;
      if (open !== '"' || close !== '"') return undefined;
      let value = '';
      for (let i = 0; i < inner.length; i++) {
        const char = inner[i]!;
        if (char === '"') return undefined;
        if (char !== '\\') {
          value += char;
          continue;
        }
        const escaped = inner[++i];
        const meaning = escaped === undefined ? undefined : ({ '\\': '\\', '"': '"', n: '\n', r: '\r' } as Record<string, string>)[escaped];
        if (meaning === undefined) return undefined;
        value += meaning;
      }
      return value;
    };
    fc.assert(
      fc.property(variableName, anyValue, (name, value) => {
        const outcome = attempt(() => dotenvAssign(name, value));
        // A backslash too: python-dotenv unescapes it even in single quotes, dotenv (npm) never.
        const expandable = value.includes('${') || (/['\r\n]/.test(value) && value.includes('$')) || value.includes('\\');
        if (expandable) {
          expect(outcome.ok).toBe(false);
          if (!outcome.ok) expect(outcome.error).toBeInstanceOf(UsageError);
          return;
        }
        expect(outcome.ok).toBe(true);
        if (!outcome.ok) return;
        expect(outcome.value).not.toMatch(/[\r\n]/);
        expect(readBack(outcome.value, name)).toBe(value);
      }),
      { seed: 804, numRuns: 1000 },
    );
  });
});

// ---------------------------------------------------------------------------------------------
// 3. Variable names

/** `^[A-Za-z_][A-Za-z0-9_]*$`, by hand. */
function isVariableName(name: string): boolean {
  if (name.length === 0) return false;
  for (let i = 0; i < name.length; i++) {
    const code = name.charCodeAt(i);
    const letter = (code >= 0x41 && code <= 0x5a) || (code >= 0x61 && code <= 0x7a) || code === 0x5f;
    const digit = code >= 0x30 && code <= 0x39;
    if (!letter && !(digit && i > 0)) return false;
  }
  return true;
}

describe('variable names', () => {
  it('checkVariableName accepts exactly ^[A-Za-z_][A-Za-z0-9_]*$ and refuses the rest with a UsageError', () => {
    const near = fc.string({ unit: fc.constantFrom('a', 'Z', '_', '0', '9', '-', '.', ' ', '\n', '$', '=', 'é', 'Ａ', '١', 'ſ', 'K') });
    fc.assert(
      fc.property(fc.oneof(variableName, variableName.map((name) => `${name}\n`), near, fc.string({ unit: 'binary' })), (name) => {
        const outcome = attempt(() => checkVariableName(name, '--var'));
        if (isVariableName(name)) {
          expect(outcome).toEqual({ ok: true, value: name });
        } else {
          expect(outcome.ok).toBe(false);
          if (!outcome.ok) {
            expect(outcome.error).toBeInstanceOf(UsageError);
            expect((outcome.error as UsageError).message).toContain('--var');
          }
        }
      }),
      { seed: 901, numRuns: 1000 },
    );
  });
});
