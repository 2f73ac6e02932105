/**
 * A real browser for sign-in tests: Debian's Chromium, headless, driven with puppeteer-core (which
 * downloads nothing). It plays the user of test/harness/oidc-provider-harness.ts: opens the
 * authorization URL (or the device verification URL), types a login name into the provider's form,
 * approves or denies consent, and follows the redirects to the loopback redirect URI.
 *
 * One browser per test file: `launchBrowser()` in beforeAll, `close()` in afterAll. Every flow
 * runs in a fresh browser context (own cookies: no provider session carries over) unless
 * `keepSession` says otherwise. Only loopback hosts are loaded; any other request is aborted, so
 * a test never reaches the Internet.
 */
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import puppeteer, { type Browser, type BrowserContext, type HTTPRequest, type HTTPResponse, type Page } from 'puppeteer-core';

export const CHROMIUM = '/usr/bin/chromium';

/** Why the browser tests cannot run here, if they cannot (for `requireOrSkip`). */
export function haveChromium(): string | undefined {
  return existsSync(CHROMIUM) ? undefined : `${CHROMIUM} is missing: apt-get install -y --no-install-recommends chromium`;
}

export interface FlowOptions {
  /** The login name typed into the provider's form (any name is an account there). */
  user: string;
  /** Typed into the password field, if the form has one (default: "password"; not checked). */
  password?: string;
  /**
   * Refuse instead of approving: `true` or `'consent'` clicks Deny on the consent page, `'login'`
   * clicks Cancel on the login page, `'device'` clicks Abort on the device confirmation page
   * (completeDevice only). The provider then answers `access_denied`.
   */
  deny?: boolean | 'consent' | 'login' | 'device';
  /** Reuse the browser's shared context (its provider session from earlier `keepSession` flows). */
  keepSession?: boolean;
  /** For the whole flow (default 20 s). */
  timeoutMs?: number;
}

export interface LoginResult {
  /** The URL the provider redirected to (the loopback redirect URI with `code`/`error`, `state`, `iss`). */
  url: string;
  /** The status of whatever answered there; undefined when nothing did (connection refused). */
  status: number | undefined;
  /** Where the browser ended: `url`, unless the loopback redirected on (or Chromium's `chrome-error:` page). */
  pageUrl: string;
  /** The text of the page shown there (or Chromium's error page). */
  text: string;
  /** The pages passed through, `title <url>`, for failure messages. */
  trail: string[];
}

export interface DeviceResult {
  /** The provider's success page was reached. */
  signedIn: boolean;
  url: string;
  /** The text of the last page: the success page, or the provider's message (e.g. interrupted). */
  text: string;
  trail: string[];
}

export interface HarnessBrowser {
  /** Drives an authorization-code flow from the authorization URL to its `redirect_uri`. */
  completeLogin(authorizationUrl: string, options: FlowOptions): Promise<LoginResult>;
  /** Drives the device flow from `verification_uri_complete`: confirm the code, log in, consent. */
  completeDevice(verificationUriComplete: string, options: FlowOptions): Promise<DeviceResult>;
  /** Closes the browser and removes its profile directory. */
  close(): Promise<void>;
}

const LOOPBACK = new Set(['127.0.0.1', 'localhost', '[::1]']);

function allowed(url: string): boolean {
  if (url.startsWith('data:') || url.startsWith('about:')) return true;
  const parsed = URL.parse(url);
  return parsed !== null && (parsed.protocol === 'http:' || parsed.protocol === 'https:') && LOOPBACK.has(parsed.hostname);
}

/** The main frame's committed documents, so that an action can wait for the next one. */
class Tracker {
  navigations = 0;
  trail: string[] = [];
  landed: string | undefined;
  landedStatus: number | undefined;

  constructor(
    readonly page: Page,
    isTarget: (url: string) => boolean,
  ) {
    page.on('framenavigated', (frame) => {
      if (frame === page.mainFrame()) this.navigations += 1;
    });
    page.on('request', (request: HTTPRequest) => {
      const url = request.url();
      if (request.isNavigationRequest() && request.frame() === page.mainFrame() && this.landed === undefined && isTarget(url)) this.landed = url;
      if (allowed(url)) void request.continue();
      else void request.abort('blockedbyclient');
    });
    page.on('response', (response: HTTPResponse) => {
      if (response.url() === this.landed) this.landedStatus = response.status();
    });
  }

  /** Waits until a document after the `after`-th has loaded. */
  async settled(after: number, deadline: number): Promise<void> {
    for (;;) {
      if (this.navigations > after) {
        try {
          if ((await readyState(this.page)) === 'complete') {
            this.trail.push(`${await this.page.title()} <${this.page.url()}>`);
            return;
          }
        } catch {
          // The document changed under evaluate: look again.
        }
      }
      if (Date.now() > deadline) throw new Error(`the browser got stuck: ${this.trail.join(' -> ') || 'no page loaded'}`);
      await new Promise((resolve) => setTimeout(resolve, 25));
    }
  }
}

type PageKind = 'login' | 'consent' | 'device-confirm' | 'device-done' | 'device-message' | 'error' | 'other';

/** Which of the provider's pages is shown (marked by the ids of oidc-provider-harness.ts). */
const KINDS: [string, PageKind][] = [
  ['form#login', 'login'],
  ['form#consent', 'consent'],
  ['#device-done', 'device-done'],
  ['button#confirm', 'device-confirm'],
  ['#message.error', 'device-message'],
  ['#error', 'error'],
];

// Page scripts are strings: the project compiles without the DOM library.
async function pageKind(page: Page): Promise<PageKind> {
  const script = `(() => { for (const [selector, kind] of ${JSON.stringify(KINDS)}) if (document.querySelector(selector)) return kind; return 'other'; })()`;
  return (await page.evaluate(script)) as PageKind;
}

const readyState = async (page: Page): Promise<string> => String(await page.evaluate('document.readyState'));

const text = async (page: Page): Promise<string> => String(await page.evaluate('document.body ? document.body.innerText : ""'));

/** The last step of one page: click `selector`, then wait for the next document. */
async function submit(tracker: Tracker, selector: string, deadline: number): Promise<void> {
  const before = tracker.navigations;
  await tracker.page.click(selector);
  await tracker.settled(before, deadline);
}

/**
 * Answers the provider's pages until `finished` says so. Login: name and password, Sign in.
 * Consent: Allow (or Deny). Device confirmation: Continue (or Abort). A page of none of these
 * (the form_post that submits itself) is waited past.
 */
async function drive(tracker: Tracker, options: FlowOptions, deadline: number, finished: (kind: PageKind) => boolean): Promise<PageKind> {
  const { page } = tracker;
  const deny = options.deny === true ? 'consent' : options.deny || undefined;
  for (;;) {
    const kind = tracker.landed !== undefined ? 'other' : await pageKind(page);
    if (tracker.landed !== undefined || finished(kind)) return kind;
    switch (kind) {
      case 'login':
        if (deny === 'login') {
          await submit(tracker, '#cancel-button', deadline);
          break;
        }
        await page.type('#username', options.user);
        if (await page.$('#password')) await page.type('#password', options.password ?? 'password');
        await submit(tracker, '#sign-in', deadline);
        break;
      case 'consent':
        await submit(tracker, deny === 'consent' ? '#deny-button' : '#allow', deadline);
        break;
      case 'device-confirm':
        await submit(tracker, deny === 'device' ? '#abort' : '#confirm', deadline);
        break;
      case 'error':
        throw new Error(`the provider showed an error: ${(await text(page)).trim()} (${tracker.trail.join(' -> ')})`);
      default:
        await tracker.settled(tracker.navigations, deadline);
    }
  }
}

export async function launchBrowser(): Promise<HarnessBrowser> {
  const missing = haveChromium();
  if (missing) throw new Error(missing);
  const userDataDir = await mkdtemp(join(tmpdir(), 'authctl-chromium-'));
  let browser: Browser;
  try {
    browser = await puppeteer.launch({
      executablePath: CHROMIUM,
      // puppeteer passes --headless=new for `true`.
      headless: true,
      userDataDir,
      // --no-sandbox: Chromium's sandbox refuses to run as root (CI containers); it only ever loads
      // loopback pages here. /dev/shm is small in containers.
      args: ['--no-sandbox', '--disable-dev-shm-usage', '--disable-gpu', '--no-first-run', '--no-default-browser-check', '--disable-extensions'],
      timeout: 60_000,
    });
  } catch (err) {
    await rm(userDataDir, { recursive: true, force: true });
    throw err;
  }

  async function inContext<T>(options: FlowOptions, run: (page: Page) => Promise<T>): Promise<T> {
    const context: BrowserContext = options.keepSession ? browser.defaultBrowserContext() : await browser.createBrowserContext();
    const page = await context.newPage();
    try {
      await page.setRequestInterception(true);
      return await run(page);
    } finally {
      await page.close().catch(() => undefined);
      if (!options.keepSession) await context.close().catch(() => undefined);
    }
  }

  return {
    completeLogin: (authorizationUrl, options) =>
      inContext(options, async (page) => {
        const redirect = new URL(authorizationUrl).searchParams.get('redirect_uri');
        if (!redirect) throw new Error(`the authorization URL has no redirect_uri: ${authorizationUrl}`);
        const target = new URL(redirect);
        const isTarget = (url: string) => {
          const parsed = URL.parse(url);
          return parsed !== null && parsed.origin === target.origin && parsed.pathname === target.pathname;
        };
        const tracker = new Tracker(page, isTarget);
        const deadline = Date.now() + (options.timeoutMs ?? 20_000);
        await page.goto(authorizationUrl, { waitUntil: 'load', timeout: options.timeoutMs ?? 20_000 }).catch((err: unknown) => {
          // A provider that redirects straight to a loopback nobody listens on ends in an error page.
          if (tracker.landed === undefined) throw err;
        });
        await tracker.settled(0, deadline);
        // Returns once the document the redirect led to has loaded (whatever answered there, or
        // Chromium's error page when nothing did).
        await drive(tracker, options, deadline, () => false);
        return { url: tracker.landed!, status: tracker.landedStatus, pageUrl: page.url(), text: await text(page), trail: tracker.trail };
      }),

    completeDevice: (verificationUriComplete, options) =>
      inContext(options, async (page) => {
        const tracker = new Tracker(page, () => false);
        const deadline = Date.now() + (options.timeoutMs ?? 20_000);
        await page.goto(verificationUriComplete, { waitUntil: 'load', timeout: options.timeoutMs ?? 20_000 });
        await tracker.settled(0, deadline);
        const kind = await drive(tracker, options, deadline, (k) => k === 'device-done' || k === 'device-message');
        return { signedIn: kind === 'device-done', url: page.url(), text: await text(page), trail: tracker.trail };
      }),

    close: async () => {
      await browser.close().catch(() => undefined);
      // Chromium may still be writing its profile while it exits.
      await rm(userDataDir, { recursive: true, force: true, maxRetries: 5, retryDelay: 100 });
    },
  };
}
