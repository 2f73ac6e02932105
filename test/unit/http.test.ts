import { UsageError } from '../../src/core/errors.js';
import { describe, expect, it } from 'vitest';
import { describeHeaders, proxySettings, retryDelayMs } from '../../src/iam/http.js';

describe('retry delays', () => {
  const now = Date.UTC(2030, 0, 1);
  it('back off exponentially, with jitter in the upper half of each step', () => {
    expect(retryDelayMs(1, undefined, now, () => 0)).toBe(250);
    expect(retryDelayMs(1, undefined, now, () => 1)).toBe(500);
    expect(retryDelayMs(2, undefined, now, () => 0)).toBe(500);
    expect(retryDelayMs(3, undefined, now, () => 0.5)).toBe(1500);
  });
  it('honour Retry-After in seconds or as a date, capped at 30 s', () => {
    expect(retryDelayMs(1, '2', now, () => 0)).toBe(2000);
    expect(retryDelayMs(1, new Date(now + 5000).toUTCString(), now, () => 0)).toBe(5000);
    expect(retryDelayMs(1, '3600', now, () => 0)).toBe(30_000);
    expect(retryDelayMs(1, new Date(now - 5000).toUTCString(), now, () => 0)).toBe(0);
    expect(retryDelayMs(1, 'soon', now, () => 0)).toBe(250);
  });
});

describe('debug header lines', () => {
  it('show secret headers as fingerprints, others as they are', () => {
    const line = describeHeaders({ 'X-Auth-Token': 'gAAAAAsecret', 'x-subject-token': 'gAAAAAother', Authorization: 'Bearer x', accept: 'application/json' });
    expect(line).toMatch(/^X-Auth-Token: hmac:[0-9a-f]{12}, x-subject-token: hmac:[0-9a-f]{12}, Authorization: hmac:[0-9a-f]{12}, accept: application\/json$/);
    expect(line).not.toContain('secret');
  });
});

describe('proxy settings from the environment', () => {
  it('read upper and lower case, lower case first, like curl', () => {
    expect(proxySettings({})).toBeUndefined();
    expect(proxySettings({ NO_PROXY: 'x' })).toBeUndefined();
    expect(proxySettings({ HTTPS_PROXY: 'http://p:1', no_proxy: 'a,b' })).toEqual({ httpsProxy: 'http://p:1', noProxy: 'a,b' });
    expect(proxySettings({ http_proxy: 'http://lower:1', HTTP_PROXY: 'http://upper:1' })).toEqual({ httpProxy: 'http://lower:1' });
  });

  it('a proxy URL with a path, query or fragment is a usage error naming the variable, its secrets not shown (undici would say "invalid url")', () => {
    for (const value of ['http://127.0.0.1:1/x', 'http://127.0.0.1:1?x', 'http://127.0.0.1:1#f', 'http://u:pw-proxy-1@127.0.0.1:1/x?access_token=tok-1']) {
      let thrown: unknown;
      try {
        proxySettings({ https_proxy: value });
      } catch (error) {
        thrown = error;
      }
      expect(thrown, value).toBeInstanceOf(UsageError);
      const message = (thrown as Error).message;
      expect(message).toMatch(/^https_proxy "[^"]*" has a path, query or fragment, which a proxy URL cannot have$/);
      expect(message).not.toMatch(/pw-proxy-1|tok-1/);
    }
    // The root path is no path: curl and undici both take it.
    expect(proxySettings({ HTTPS_PROXY: 'http://p:1/' })).toEqual({ httpsProxy: 'http://p:1/' });
  });
});
