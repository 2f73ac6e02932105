import { UnreachableError } from '../core/errors.js';
import { fingerprint } from '../io/redact.js';
import { importCommonJs } from '../util/cjs.js';

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

export interface HttpOptions {
  timeoutMs: number;
  /** Total attempts, including the first. */
  attempts: number;
  userAgent: string;
  debug: (message: string) => void;
  sleep?: (ms: number) => Promise<void>;
  random?: () => number;
}

export const MAX_BODY_BYTES = 1024 * 1024;
const MAX_HEADER_BYTES = 80 * 1024;
export const DEFAULT_TIMEOUT_MS = 10_000;
export const DEFAULT_ATTEMPTS = 3;

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

class RetryableError extends Error {}

export async function createHttpClient(options: HttpOptions): Promise<HttpClient> {
  const { request, Agent } = await importCommonJs(import('undici'));
  // PKI tokens arrive in a response header and run to several KB; undici's default cap is 16 KiB.
  const dispatcher = new Agent({ connect: { timeout: options.timeoutMs }, maxHeaderSize: MAX_HEADER_BYTES });
  const sleep = options.sleep ?? ((ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms)));
  const random = options.random ?? Math.random;

  async function once(req: HttpRequest): Promise<HttpResponse> {
    const { origin } = new URL(req.url);
    let response: Awaited<ReturnType<typeof request>>;
    try {
      response = await request(req.url, {
        method: req.method,
        headers: { 'user-agent': options.userAgent, ...req.headers },
        body: req.body,
        dispatcher,
        signal: AbortSignal.timeout(options.timeoutMs),
        headersTimeout: options.timeoutMs,
        bodyTimeout: options.timeoutMs,
      });
    } catch (error) {
      throw new RetryableError(describeNetworkError(error, origin, options.timeoutMs), { cause: error });
    }
    const headers: Record<string, string> = {};
    for (const [name, value] of Object.entries(response.headers)) {
      if (value !== undefined) headers[name.toLowerCase()] = Array.isArray(value) ? value.join(', ') : value;
    }
    const chunks: Buffer[] = [];
    let size = 0;
    try {
      for await (const chunk of response.body) {
        size += (chunk as Buffer).length;
        if (size > MAX_BODY_BYTES) {
          response.body.destroy();
          throw new UnreachableError(`${origin} sent a response body over ${MAX_BODY_BYTES / 1024 / 1024} MiB; refusing it`, {
            hint: 'check that the URL points at the IAM service',
          });
        }
        chunks.push(chunk as Buffer);
      }
    } catch (error) {
      if (error instanceof UnreachableError) throw error;
      throw new RetryableError(describeNetworkError(error, origin, options.timeoutMs), { cause: error });
    }
    return { status: response.statusCode, headers, body: Buffer.concat(chunks).toString('utf8') };
  }

  return {
    async send(req: HttpRequest): Promise<HttpResponse> {
      for (let attempt = 1; ; attempt++) {
        const started = performance.now();
        let outcome: HttpResponse | RetryableError;
        try {
          outcome = await once(req);
        } catch (error) {
          if (!(error instanceof RetryableError)) throw error;
          outcome = error;
        }
        const took = Math.round(performance.now() - started);
        const headerText = req.headers ? ` [${describeHeaders(req.headers)}]` : '';
        if (outcome instanceof RetryableError) {
          options.debug(`${req.method} ${req.url}${headerText} -> ${outcome.message} (${took} ms)`);
          if (attempt >= options.attempts) throw new UnreachableError(outcome.message, { hint: 'check the URL, your network and any proxy settings', cause: outcome.cause });
        } else {
          options.debug(`${req.method} ${req.url}${headerText} -> ${outcome.status} (${took} ms)`);
          if (!RETRY_STATUSES.has(outcome.status) || attempt >= options.attempts) return outcome;
        }
        const retryAfter = outcome instanceof RetryableError ? undefined : outcome.headers['retry-after'];
        const delay = retryDelayMs(attempt, retryAfter, Date.now(), random);
        options.debug(`retrying in ${delay} ms (attempt ${attempt + 1} of ${options.attempts})`);
        await sleep(delay);
      }
    },
  };
}

function describeNetworkError(error: unknown, origin: string, timeoutMs: number): string {
  const err = error as { name?: string; code?: string; message?: string; cause?: { code?: string; message?: string } };
  const code = err.code ?? err.cause?.code;
  if (err.name === 'TimeoutError' || err.name === 'AbortError' || /Timeout/i.test(code ?? '')) {
    return `no answer from ${origin} within ${timeoutMs / 1000}s`;
  }
  switch (code) {
    case 'ECONNREFUSED':
      return `cannot reach ${origin}: connection refused`;
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
      return `cannot reach ${origin}: host not found`;
    case 'ECONNRESET':
    case 'UND_ERR_SOCKET':
      return `the connection to ${origin} was cut off`;
    default:
      return `cannot reach ${origin}: ${err.cause?.message ?? err.message ?? String(error)}`;
  }
}
