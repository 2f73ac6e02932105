import { describe, expect, it } from 'vitest';
import { passwordAuthBody, parseTokenBody, readTokenResponse, tokenAuthBody } from '../../src/iam/keystone.js';
import type { HttpResponse } from '../../src/iam/http.js';

describe('Keystone request bodies', () => {
  const user = { name: 'alice', domain: { name: 'Fiware' } };
  const identity = { methods: ['password'], password: { user: { name: 'alice', domain: { name: 'Fiware' }, password: 'pw' } } };

  it.each([
    ['project by id', { kind: 'project', id: 'p1' } as const, { project: { id: 'p1' } }],
    ['project by name and domain name', { kind: 'project', name: '/smartcity', domain: { name: 'Fiware' } } as const, { project: { name: '/smartcity', domain: { name: 'Fiware' } } }],
    ['project by name and domain id', { kind: 'project', name: '/smartcity', domain: { id: 'd1' } } as const, { project: { name: '/smartcity', domain: { id: 'd1' } } }],
    ['domain by name', { kind: 'domain', domain: { name: 'Fiware' } } as const, { domain: { name: 'Fiware' } }],
    ['domain by id', { kind: 'domain', domain: { id: 'd1' } } as const, { domain: { id: 'd1' } }],
  ])('scopes %s', (_, scope, expected) => {
    expect(passwordAuthBody(user, 'pw', scope)).toEqual({ auth: { identity, scope: expected } });
  });

  it('sends no scope at all for an unscoped token', () => {
    expect(passwordAuthBody(user, 'pw', { kind: 'unscoped' })).toEqual({ auth: { identity } });
  });

  it('names a user by id without a domain', () => {
    expect(passwordAuthBody({ id: 'u1' }, 'pw', { kind: 'unscoped' })).toEqual({ auth: { identity: { methods: ['password'], password: { user: { id: 'u1', password: 'pw' } } } } });
  });

  it('builds the token method, with and without a new scope', () => {
    expect(tokenAuthBody('T', undefined)).toEqual({ auth: { identity: { methods: ['token'], token: { id: 'T' } } } });
    expect(tokenAuthBody('T', { kind: 'project', id: 'p' })).toEqual({ auth: { identity: { methods: ['token'], token: { id: 'T' } }, scope: { project: { id: 'p' } } } });
  });
});

describe('Keystone token bodies', () => {
  it('reads microsecond times, user, scope and roles', () => {
    const info = parseTokenBody({
      token: {
        expires_at: '2018-08-26T08:14:59.632237Z',
        issued_at: '2018-08-26T07:14:59.632237Z',
        methods: ['password'],
        user: { id: 'u', name: 'alice', domain: { id: 'd', name: 'Fiware' } },
        project: { id: 'p', name: '/smartcity', domain: { id: 'd', name: 'Fiware' } },
        roles: [{ id: 'r', name: 'member' }],
      },
    });
    expect(info).toEqual({
      expiresAt: Date.UTC(2018, 7, 26, 8, 14, 59, 632),
      issuedAt: Date.UTC(2018, 7, 26, 7, 14, 59, 632),
      methods: ['password'],
      user: { id: 'u', name: 'alice', domain: { id: 'd', name: 'Fiware' } },
      project: { id: 'p', name: '/smartcity', domain: { id: 'd', name: 'Fiware' } },
      roles: ['member'],
    });
  });

  it.each([
    [{}, 'the body has no "token" object'],
    [{ token: {} }, 'the token has no expires_at'],
    [{ token: { expires_at: 'tomorrow' } }, 'is not a time'],
    [{ token: { expires_at: 1700000000 } }, 'is not a time'],
    [null, 'the body has no "token" object'],
  ])('refuses %j', (body, message) => {
    const result = parseTokenBody(body);
    expect(result).toHaveProperty('error');
    expect((result as { error: string }).error).toContain(message);
  });

  const response = (headers: Record<string, string>, body: unknown): HttpResponse => ({ status: 201, headers, body: JSON.stringify(body) });
  const future = (ms: number) => new Date(ms).toISOString();

  it('takes the token from X-Subject-Token and the clock skew from Date', () => {
    const now = Date.UTC(2030, 0, 1);
    const issued = readTokenResponse(
      response({ 'x-subject-token': 'gAAAAAtok', date: new Date(now + 5 * 60_000).toUTCString() }, { token: { expires_at: future(now + 3_600_000) } }),
      'https://iam',
      now,
    );
    expect(issued.token).toBe('gAAAAAtok');
    expect(issued.skewMs).toBe(5 * 60_000 + 500);
  });

  it.each([
    [{}, 'without a token in X-Subject-Token'],
    [{ 'x-subject-token': 'bad token' }, 'implausible token'],
    [{ 'x-subject-token': 'x'.repeat(65 * 1024) }, 'implausible token'],
    [{ 'x-subject-token': 'tøken' }, 'implausible token'],
  ])('refuses headers %#', (headers, message) => {
    expect(() => readTokenResponse(response(headers, { token: { expires_at: future(Date.now() + 60_000) } }), 'https://iam', Date.now())).toThrow(message);
  });

  it('refuses a token that has already expired on the server clock', () => {
    const now = Date.now();
    expect(() => readTokenResponse(response({ 'x-subject-token': 't' }, { token: { expires_at: future(now - 1000) } }), 'https://iam', now)).toThrow('already expired');
  });
});

describe('system and trust scope', () => {
  it('reads a system-scoped and a trust-scoped token, and writes them in the JSON scope', async () => {
    const { scopeJson } = await import('../../src/core/token-json.js');
    const system = parseTokenBody({ token: { expires_at: '2030-01-01T00:00:00.000000Z', system: { all: true } } });
    expect(system).toMatchObject({ system: true });
    expect(scopeJson(system as never)).toEqual({ system: { all: true } });
    const trust = parseTokenBody({ token: { expires_at: '2030-01-01T00:00:00.000000Z', project: { id: 'p', name: 'demo' }, 'OS-TRUST:trust': { id: 'tr-1', impersonation: false } } });
    expect(scopeJson(trust as never)).toEqual({ project: { id: 'p', name: 'demo' }, trust: { id: 'tr-1' } });
  });
});
