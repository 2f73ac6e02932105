import type { HttpClient, HttpMethod, HttpRequest, HttpResponse } from '../../src/iam/http.js';

/** A response as a test writes it: headers are optional and may be in any case. */
export interface StubResponse {
  status: number;
  headers?: Record<string, string>;
  body?: string | object;
}

export type Responder = StubResponse | ((request: HttpRequest) => StubResponse | Promise<StubResponse>);

interface Stub {
  method: HttpMethod;
  url: string;
  respond: Responder;
  used: boolean;
}

/**
 * A strict HTTP client for command tests, in the manner of GitHub CLI's httpmock: every request a
 * test expects is registered with `on`, answered once, and a request that matches no stub fails
 * the test (and is remembered, so `verify` fails it even if the command swallowed the error).
 * A stub left unused fails `verify` too.
 */
export class HttpStub implements HttpClient {
  readonly #stubs: Stub[] = [];
  /** Every request sent, matched or not, in order. */
  readonly requests: HttpRequest[] = [];
  readonly #unexpected: string[] = [];

  /** Expects one `method url` request; `respond` answers it (a function can assert on the request). */
  on(method: HttpMethod, url: string, respond: Responder): this {
    this.#stubs.push({ method, url, respond, used: false });
    return this;
  }

  async send(request: HttpRequest): Promise<HttpResponse> {
    this.requests.push(request);
    const stub = this.#stubs.find((candidate) => !candidate.used && candidate.method === request.method && candidate.url === request.url);
    if (!stub) {
      const line = `${request.method} ${request.url}`;
      this.#unexpected.push(line);
      throw new Error(`HttpStub: no stub for ${line}${this.#pending()}`);
    }
    stub.used = true;
    const answer = typeof stub.respond === 'function' ? await stub.respond(request) : stub.respond;
    const headers = Object.fromEntries(Object.entries(answer.headers ?? {}).map(([name, value]) => [name.toLowerCase(), value]));
    const body = answer.body === undefined ? '' : typeof answer.body === 'string' ? answer.body : JSON.stringify(answer.body);
    if (typeof answer.body === 'object' && headers['content-type'] === undefined) headers['content-type'] = 'application/json';
    return { status: answer.status, headers, body };
  }

  #pending(): string {
    const left = this.#stubs.filter((stub) => !stub.used).map((stub) => `${stub.method} ${stub.url}`);
    return left.length ? ` (stubs waiting: ${left.join(', ')})` : ' (no stubs waiting)';
  }

  /** Throws when a stub was not used or a request matched none. */
  verify(): void {
    const problems: string[] = [];
    if (this.#unexpected.length) problems.push(`requests that matched no stub: ${this.#unexpected.join(', ')}`);
    const unused = this.#stubs.filter((stub) => !stub.used).map((stub) => `${stub.method} ${stub.url}`);
    if (unused.length) problems.push(`stubs never requested: ${unused.join(', ')}`);
    if (problems.length) throw new Error(`HttpStub: ${problems.join('; ')}`);
  }
}
