/** A private realm of the shared test IAM server, with helpers to script it and read its log. */
import { inject } from 'vitest';
import type { Fault, IdpRegistration, LoggedRequest, RealmInfo, RealmOptions } from './iam-server.js';

export interface Realm extends RealmInfo {
  fault(...faults: Fault[]): Promise<void>;
  /** Changes the realm's behaviour from now on (e.g. the lifetime of new tokens). */
  configure(options: RealmOptions): Promise<void>;
  /** Resolves once `count` requests of `method` to `path` have arrived. */
  waitForRequests(method: string, count: number, path?: string): Promise<void>;
  requests(): Promise<LoggedRequest[]>;
  /** How many requests reached `path` (default: the token endpoint). */
  count(method: string, path?: string): Promise<number>;
  expire(token: string): Promise<void>;
  revoke(token: string): Promise<void>;
  /**
   * Registers an OpenID Connect identity provider for `POST /v3.0/OS-AUTH/id-token/tokens` (`X-Idp-Id: idp.id`)
   * and `POST /v3/OS-FEDERATION/identity_providers/{idp.id}/protocols/{idp.protocol_id ?? 'oidc'}/auth`.
   */
  registerIdp(idp: IdpRegistration): Promise<void>;
}

async function call(url: string, body?: unknown): Promise<Response> {
  const response = await fetch(url, body === undefined ? {} : { method: 'POST', body: JSON.stringify(body) });
  if (response.status >= 400) throw new Error(`${url}: ${response.status} ${await response.text()}`);
  return response;
}

export async function newRealm(options: RealmOptions = {}): Promise<Realm> {
  const info = (await (await call(`${inject('iamUrl')}/_realms`, options)).json()) as RealmInfo;
  const requests = async () => (await (await call(`${info.base}/_requests`)).json()) as LoggedRequest[];
  return {
    ...info,
    fault: async (...faults) => void (await call(`${info.base}/_faults`, faults)),
    configure: async (options) => void (await call(`${info.base}/_options`, options)),
    waitForRequests: async (method, count, path = '/v3/auth/tokens') => {
      for (let i = 0; i < 200; i++) {
        if ((await requests()).filter((r) => r.method === method && r.path === path).length >= count) return;
        await new Promise((resolve) => setTimeout(resolve, 25));
      }
      throw new Error(`${count} ${method} ${path} requests never arrived`);
    },
    requests,
    count: async (method, path = '/v3/auth/tokens') => (await requests()).filter((r) => r.method === method && r.path === path).length,
    expire: async (token) => void (await call(`${info.base}/_tokens`, { token, expire: true })),
    revoke: async (token) => void (await call(`${info.base}/_tokens`, { token, revoke: true })),
    registerIdp: async (idp) => void (await call(`${info.base}/_idps`, idp)),
  };
}

/** Env for a password login of the realm's user, scoped to its project by name. */
export function loginEnv(realm: RealmInfo): Record<string, string> {
  const { user, project } = realm.fixtures;
  return {
    OS_AUTH_URL: realm.authUrl,
    OS_USERNAME: user.name,
    OS_USER_DOMAIN_NAME: user.domain,
    OS_PROJECT_NAME: project.name,
    OS_PASSWORD: user.password,
  };
}
