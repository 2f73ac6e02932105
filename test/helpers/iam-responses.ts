import type { HttpRequest } from '../../src/iam/http.js';
import type { StubResponse } from './http-stub.js';

/**
 * IAM answers as the test IAM server (test/helpers/iam-server.ts) and Keystone write them, for
 * the HTTP stub of command tests.
 */

export const AUTH_URL = 'https://iam.example.com/v3';
export const TOKENS_URL = `${AUTH_URL}/auth/tokens`;

export const USER = { id: 'u-alice', name: 'alice', domain: { id: 'default', name: 'Default' } };
export const PROJECT = { id: 'p-demo', name: 'demo', domain: { id: 'default', name: 'Default' } };

/** ISO-8601 as Keystone writes it: microseconds and Z. */
export function keystoneTime(ms: number): string {
  return new Date(ms).toISOString().replace(/Z$/, '000Z');
}

export interface KeystoneTokenFields {
  token: string;
  issuedAt: number;
  expiresAt: number;
  methods?: string[];
  user?: typeof USER;
  project?: typeof PROJECT | undefined;
  roles?: string[];
}

export function keystoneTokenBody(fields: KeystoneTokenFields): object {
  const token: Record<string, unknown> = {
    methods: fields.methods ?? ['password'],
    user: { ...(fields.user ?? USER), password_expires_at: null },
    audit_ids: ['dGVzdGF1ZGl0aWQ'],
    expires_at: keystoneTime(fields.expiresAt),
    issued_at: keystoneTime(fields.issuedAt),
  };
  const project = 'project' in fields ? fields.project : PROJECT;
  if (project) {
    token.project = project;
    token.roles = (fields.roles ?? ['member']).map((name, index) => ({ id: `r${index}`, name }));
    token.catalog = [];
  }
  return { token };
}

/** `POST /auth/tokens` → 201 with X-Subject-Token. */
export function issued(fields: KeystoneTokenFields): StubResponse {
  return { status: 201, headers: { 'X-Subject-Token': fields.token, 'Content-Type': 'application/json' }, body: keystoneTokenBody(fields) };
}

/** `GET /auth/tokens` → 200 with the subject token's details. */
export function validated(fields: KeystoneTokenFields): StubResponse {
  return { status: 200, headers: { 'X-Subject-Token': fields.token, 'Content-Type': 'application/json' }, body: keystoneTokenBody(fields) };
}

export function keystoneError(status: number, message: string): StubResponse {
  const titles: Record<number, string> = { 401: 'Unauthorized', 404: 'Not Found', 503: 'Service Unavailable' };
  return { status, headers: { 'Content-Type': 'application/json' }, body: { error: { code: status, message, title: titles[status] ?? 'Error' } } };
}

/** The request body as JSON. */
export function jsonBody(request: HttpRequest): unknown {
  return JSON.parse(request.body ?? '');
}

/** The request body as a form. */
export function formBody(request: HttpRequest): Record<string, string> {
  return Object.fromEntries(new URLSearchParams(request.body ?? ''));
}
