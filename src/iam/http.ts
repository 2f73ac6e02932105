import { readCaFile } from '../io/ca-file.js';
import { UnreachableError, UsageError } from '../core/errors.js';
import { displayUrl } from '../core/settings.js';
import type { Env } from '../io/io.js';
import { fingerprint } from '../io/redact.js';
import { requireDependency } from '../util/cjs.js';

export type HttpMethod = 'GET' | 'HEAD' | 'POST' | 'DELETE';

export interface HttpRequest {
  method: HttpMethod;
  url: string;
  headers?: Record<string, string>;
  body?: string;
}

export interface HttpResponse {
  status: number;
  /** Lower-case names; repeated headers joined with ", ". */
  headers: Record<string, string>;
  body: string;
}

/** The one thing IAM clients need from the network. Tests may hand in their own. */
export interface HttpClient {
  send(request: HttpRequest): Promise<HttpResponse>;
}

export interface TlsOptions {
  /** PEM text of extra CAs to trust (from --cacert); the usual CAs stay trusted. */
  ca?: string;
  /** --insecure: no certificate verification at all. */
  insecure?: boolean;
}

export interface HttpOptions {
  timeoutMs: number;
  /** Total attempts, including the first. */
  attempts: number;
  userAgent: string;
  env: Env;
  tls?: TlsOptions;
  debug: (message: string) => void;
  sleep?: (ms: number) => Promise<void>;
  random?: () => number;
  /** The clock that times tries, backoff and the budget (milliseconds; default performance.now). */
  now?: () => number;
  /**
   * The command's time for waiting on IAM, shared by every request it makes (the per-try
   * timeout stays): a try gets at most what is left, and no retry starts once it is spent.
   */
  budget?: NetworkBudget;
  /** Another try is about to follow a failed one: for a progress line at a terminal. */
  onRetry?: (notice: RetryNotice) => void;
}

/** What one command may still spend waiting for IAM (tries and the pauses between them). */
export interface NetworkBudget {
  remainingMs(): number;
  spend(ms: number): void;
}

export interface RetryNotice {
  /** The try about to start (2 for the first retry), of `attempts`. */
  attempt: number;
  attempts: number;
  /** What failed, as a person reads it. */
  after: string;
  /** The whole progress line: `retrying (2/3) after a timeout (no answer from https://iam.example.com within 10s) ...`. */
  line: string;
}

export const MAX_BODY_BYTES = 1024 * 1024;
/** PKI tokens arrive in a response header and run to several KB; Node's and undici's default cap is 16 KiB. */
const MAX_HEADER_BYTES = 80 * 1024;

/** Statuses worth another try: the server said "later" or a gateway in between failed. */
const RETRY_STATUSES = new Set([429, 502, 503, 504]);
const SECRET_HEADERS = new Set(['x-auth-token', 'x-subject-token', 'x-subject-logintoken', 'authorization']);
const MAX_RETRY_AFTER_MS = 30_000;

/** Exponential backoff with full jitter, or the server's Retry-After when it gives one (capped). */
export function retryDelayMs(attempt: number, retryAfter: string | undefined, now: number, random: () => number): number {
  if (retryAfter) {
    const seconds = Number(retryAfter);
    const fromHeader = Number.isFinite(seconds) ? seconds * 1000 : Date.parse(retryAfter) - now;
    if (Number.isFinite(fromHeader)) return Math.min(Math.max(fromHeader, 0), MAX_RETRY_AFTER_MS);
  }
  const ceiling = 250 * 2 ** attempt;
  return Math.round(ceiling / 2 + random() * (ceiling / 2));
}

/** Header values as a debug log may show them: secrets become fingerprints. */
export function describeHeaders(headers: Record<string, string>): string {
  return Object.entries(headers)
    .map(([name, value]) => `${name}: ${SECRET_HEADERS.has(name.toLowerCase()) ? fingerprint(value) : value}`)
    .join(', ');
}

/** The proxy settings in the environment, upper or lower case, as curl and undici read them. */
export function proxySettings(env: Env): { httpProxy?: string; httpsProxy?: string; noProxy?: string } | undefined {
  const pick = (name: string) => env[name.toLowerCase()] || env[name] || undefined;
  const checked = (name: string) => {
    const value = pick(name);
    if (value === undefined) return undefined;
    const variable = env[name.toLowerCase()] ? name.toLowerCase() : name;
    let url: URL | undefined;
    try {
      url = new URL(value);
    } catch {
      url = undefined;
    }
    if (!url || (url.protocol !== 'http:' && url.protocol !== 'https:')) {
      throw new UsageError(`${variable} ${JSON.stringify(displayUrl(value))} is not an http(s) proxy URL`, { hint: `e.g. ${variable}=http://proxy.example.com:3128, or unset it` });
    }
    // A proxy is a host and port (and perhaps its user): undici refuses anything more as "invalid url".
    if (url.pathname !== '/' || url.search || url.hash) {
      throw new UsageError(`${variable} ${JSON.stringify(displayUrl(value))} has a path, query or fragment, which a proxy URL cannot have`, { hint: `e.g. ${variable}=http://proxy.example.com:3128, or unset it` });
    }
    return value;
  };
  const settings = { httpProxy: checked('HTTP_PROXY'), httpsProxy: checked('HTTPS_PROXY'), noProxy: pick('NO_PROXY') };
  if (!settings.httpProxy && !settings.httpsProxy) return undefined;
  return Object.fromEntries(Object.entries(settings).filter(([, v]) => v !== undefined));
}

/**
 * One attempt at one request: a transport does no retries and knows nothing of IAM. It fails
 * with a NetworkError (retried where that can help); `timeoutMs` is what the signal allows this try.
 */
export type Transport = (request: HttpRequest, signal: AbortSignal, timeoutMs: number) => Promise<HttpResponse>;

/** A try that got no answer: the connection failed, was cut, or timed out. */
export class NetworkError extends Error {
  /** A certificate that failed once fails again: no point retrying. */
  get retryable(): boolean {
    return !/TLS certificate|the proxy refused/.test(this.message);
  }

  get timedOut(): boolean {
    return this.message.startsWith('no answer from ');
  }

  get details(): { hint: string; reason?: string } {
    if (/TLS certificate/.test(this.message)) return { reason: 'tls-untrusted', hint: 'give the CA that signed it' };
    if (/proxy authentication required/.test(this.message)) return { hint: 'give the proxy user and password in its URL (HTTPS_PROXY=http://user:password@proxy:3128)' };
    return { hint: 'check the URL, your network and any proxy settings' };
  }
}

/**
 * Node's own http/https for direct connections; undici's proxy agent when a proxy is configured.
 * Measured on the cold path: loading undici costs about 67 ms, node:https about 8 ms, so undici
 * is loaded only where its proxy support is needed.
 */
async function createTransport(options: HttpOptions): Promise<Transport> {
  const proxy = proxySettings(options.env);
  return proxy ? undiciTransport(options, proxy) : nodeTransport(options);
}

async function nodeTransport(options: HttpOptions): Promise<Transport> {
  const tlsOptions = tlsConnectOptions(options);
  return (request, signal, timeoutMs) =>
    new Promise((resolve, reject) => {
      const url = new URL(request.url);
      // Loaded for the scheme in use only: node:https (with TLS) is most of the cost of either.
      const module = url.protocol === 'https:' ? process.getBuiltinModule('node:https') : process.getBuiltinModule('node:http');
      const req = module.request(url, { method: request.method, headers: request.headers, signal, maxHeaderSize: MAX_HEADER_BYTES, ...tlsOptions }, (res) => {
        readCapped(res, url.origin).then((body) => resolve({ status: res.statusCode ?? 0, headers: flatHeaders(res.headers), body }), reject);
      });
      req.on('error', (error) => reject(error instanceof UnreachableError ? error : new NetworkError(describeNetworkError(error, url.origin, timeoutMs), { cause: error })));
      req.end(request.body);
    });
}

async function undiciTransport(options: HttpOptions, proxy: NonNullable<ReturnType<typeof proxySettings>>): Promise<Transport> {
  const { request, EnvHttpProxyAgent } = requireDependency<typeof import('undici')>('undici');
  const tls = tlsConnectOptions(options);
  // Every key given ('' for none): undici would otherwise read process.env itself, not the injected environment.
  const settings = { httpProxy: proxy.httpProxy ?? '', httpsProxy: proxy.httpsProxy ?? '', noProxy: proxy.noProxy ?? '' };
  const dispatcher = new EnvHttpProxyAgent({ ...settings, maxHeaderSize: MAX_HEADER_BYTES, connect: { timeout: options.timeoutMs, ...tls }, requestTls: tls });
  return async (req, signal, timeoutMs) => {
    const { origin } = new URL(req.url);
    let response: Awaited<ReturnType<typeof request>>;
    try {
      response = await request(req.url, { method: req.method, headers: req.headers, body: req.body, dispatcher, signal, headersTimeout: options.timeoutMs, bodyTimeout: options.timeoutMs });
    } catch (error) {
      throw new NetworkError(describeNetworkError(error, origin, timeoutMs), { cause: error });
    }
    return { status: response.statusCode, headers: flatHeaders(response.headers), body: await readCapped(response.body, origin) };
  };
}

/** Lower-case names, repeated headers joined with ", ". */
function flatHeaders(raw: Record<string, string | string[] | undefined>): Record<string, string> {
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(raw)) if (value !== undefined) headers[name.toLowerCase()] = Array.isArray(value) ? value.join(', ') : value;
  return headers;
}

/** The CA list and verification switch, the same for both transports. */
function tlsConnectOptions(options: HttpOptions): { ca?: string[]; rejectUnauthorized?: false } {
  // node:tls only with a CA of the user's (it brings node:crypto and the streams).
  const ca = options.tls?.ca ? [...process.getBuiltinModule('node:tls').rootCertificates, ...extraCaFromEnv(options.env), options.tls.ca] : undefined;
  return { ...(ca ? { ca } : {}), ...(options.tls?.insecure ? { rejectUnauthorized: false as const } : {}) };
}

/** NODE_EXTRA_CA_CERTS stays trusted when --cacert replaces the default CA list. */
function extraCaFromEnv(env: Env): string[] {
  const file = env.NODE_EXTRA_CA_CERTS;
  if (!file) return [];
  try {
    return [readCaFile(file)]; // bounded: NODE_EXTRA_CA_CERTS=/dev/zero must not exhaust memory
  } catch {
    return [];
  }
}

/** Reads a body, refusing anything over MAX_BODY_BYTES: a hostile server cannot fill memory. */
async function readCapped(body: AsyncIterable<Buffer | string> & { destroy(): void }, origin: string): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  try {
    for await (const chunk of body) {
      const buffer = typeof chunk === 'string' ? Buffer.from(chunk) : chunk;
      size += buffer.length;
      if (size > MAX_BODY_BYTES) {
        body.destroy();
        throw new UnreachableError(`${origin} sent a response body over ${MAX_BODY_BYTES / 1024 / 1024} MiB; refusing it`, {
          hint: 'check that the URL points at the IAM service',
        });
      }
      chunks.push(buffer);
    }
  } catch (error) {
    if (error instanceof UnreachableError) throw error;
    throw new NetworkError(`the connection to ${origin} was cut off while reading the answer`, { cause: error });
  }
  return Buffer.concat(chunks).toString('utf8');
}

export async function createHttpClient(options: HttpOptions): Promise<HttpClient> {
  return retryingClient(await createTransport(options), options);
}

/** Seconds as a person reads them: `10s`, `8.8s`, `30.8s`. */
export function seconds(ms: number): string {
  return `${Math.round(ms / 100) / 10}s`;
}

/** A retry starts only with at least this much of the budget left after its pause (or the per-try timeout, if shorter). */
const MIN_TRY_MS = 1000;

/**
 * Tries, retries (429, 502-504 and network failures, with backoff) and the budget around a
 * transport. The final error says how many tries it took and how long they took in all.
 */
export function retryingClient(transport: Transport, options: HttpOptions): HttpClient {
  const sleep = options.sleep ?? ((ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms)));
  const random = options.random ?? Math.random;
  const now = options.now ?? (() => performance.now());
  const { budget } = options;
  const userAgent = { 'user-agent': options.userAgent };

  /** The error a command ends with when no try got an answer. */
  const gaveUp = (failure: NetworkError, origin: string, tries: number, elapsedMs: number, outOfTime: boolean): UnreachableError => {
    const what = (tries > 1 || outOfTime) && failure.timedOut ? `no answer from ${origin}` : failure.message;
    const count = `${tries} ${tries === 1 ? 'try' : 'tries'} in ${seconds(elapsedMs)}`;
    const message = outOfTime ? `${what} (${count}; no time left for another)` : tries > 1 ? `${what} (${count})` : what;
    return new UnreachableError(message, { ...failure.details, ...(failure.timedOut || outOfTime ? { reason: 'timeout' } : {}), cause: failure.cause });
  };

  return {
    async send(req: HttpRequest): Promise<HttpResponse> {
      const request = { ...req, headers: { ...userAgent, ...req.headers } };
      const started = now();
      for (let attempt = 1; ; attempt++) {
        const left = budget?.remainingMs();
        if (left !== undefined && left <= 0) {
          throw new UnreachableError(`no time left to ask ${new URL(req.url).origin}: this command has spent its time waiting for IAM`, {
            reason: 'timeout',
            hint: 'check the URL, your network and any proxy settings (--timeout gives each try more time)',
          });
        }
        const tryMs = left === undefined ? options.timeoutMs : Math.min(options.timeoutMs, left);
        const tryStarted = now();
        let outcome: HttpResponse | NetworkError;
        try {
          outcome = await transport(request, AbortSignal.timeout(tryMs), tryMs);
        } catch (error) {
          if (!(error instanceof NetworkError)) throw error;
          outcome = error;
        } finally {
          budget?.spend(now() - tryStarted);
        }
        const took = Math.round(now() - tryStarted);
        const headerText = req.headers ? ` [${describeHeaders(req.headers)}]` : '';
        const origin = new URL(req.url).origin;
        if (outcome instanceof NetworkError) {
          options.debug(`${req.method} ${req.url}${headerText} -> ${outcome.message} (${took} ms)`);
          if (attempt >= options.attempts || !outcome.retryable) throw gaveUp(outcome, origin, attempt, now() - started, false);
        } else {
          options.debug(`${req.method} ${req.url}${headerText} -> ${outcome.status} (${took} ms)`);
          if (!RETRY_STATUSES.has(outcome.status) || attempt >= options.attempts) return outcome;
        }
        const retryAfter = outcome instanceof NetworkError ? undefined : outcome.headers['retry-after'];
        const delay = retryDelayMs(attempt, retryAfter, Date.now(), random);
        const remaining = budget?.remainingMs();
        if (remaining !== undefined && remaining - delay < Math.min(MIN_TRY_MS, options.timeoutMs)) {
          options.debug(`not retrying: ${Math.max(0, Math.round(remaining))} ms left of this command's time for IAM, the pause alone is ${delay} ms`);
          if (outcome instanceof NetworkError) throw gaveUp(outcome, origin, attempt, now() - started, true);
          return outcome;
        }
        options.debug(`retrying in ${delay} ms (attempt ${attempt + 1} of ${options.attempts})`);
        if (options.onRetry) {
          const after =
            outcome instanceof NetworkError ? (outcome.timedOut ? `a timeout (${outcome.message})` : `an error (${outcome.message})`) : `${origin} answered ${outcome.status}`;
          options.onRetry({ attempt: attempt + 1, attempts: options.attempts, after, line: `retrying (${attempt + 1}/${options.attempts}) after ${after} ...` });
        }
        const pauseStarted = now();
        try {
          await sleep(delay);
        } finally {
          budget?.spend(now() - pauseStarted);
        }
      }
    },
  };
}

function describeNetworkError(error: unknown, origin: string, timeoutMs: number): string {
  const err = error as { name?: string; code?: string; message?: string; cause?: { code?: string; message?: string } };
  const code = err.code ?? err.cause?.code;
  // undici's tunnel through an HTTP proxy: "Proxy response (407) !== 200 when HTTP Tunneling",
  // raised as an AbortError: asked before the time-out reading of abort errors.
  const proxyStatus = /Proxy response \((\d{3})\)/.exec(`${err.message ?? ''} ${err.cause?.message ?? ''}`)?.[1];
  if (proxyStatus === '407') return `the proxy refused to connect to ${origin}: proxy authentication required (407)`;
  if (proxyStatus) return `the proxy refused to connect to ${origin} (${proxyStatus})`;
  if (err.name === 'TimeoutError' || err.name === 'AbortError' || code === 'ABORT_ERR' || /Timeout/i.test(code ?? '')) {
    return `no answer from ${origin} within ${seconds(timeoutMs)}`;
  }
  switch (code) {
    case 'ECONNREFUSED':
      return `cannot reach ${origin}: connection refused`;
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
      return `cannot reach ${origin}: host not found`;
    case 'ECONNRESET':
    case 'UND_ERR_SOCKET':
    case 'UND_ERR_CLOSED':
      return `the connection to ${origin} was cut off`;
    case 'DEPTH_ZERO_SELF_SIGNED_CERT':
    case 'SELF_SIGNED_CERT_IN_CHAIN':
    case 'UNABLE_TO_VERIFY_LEAF_SIGNATURE':
    case 'UNABLE_TO_GET_ISSUER_CERT_LOCALLY':
    case 'CERT_HAS_EXPIRED':
    case 'ERR_TLS_CERT_ALTNAME_INVALID':
      return `the TLS certificate of ${origin} is not trusted (${code})`;
    default:
      return `cannot reach ${origin}: ${err.cause?.message ?? err.message ?? String(error)}`;
  }
}
