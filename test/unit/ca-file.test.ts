/**
 * The CA file (--cacert, AUTHCTL_CACERT, OS_CACERT) is read within a bound: `/dev/zero` or a file
 * of gigabytes used to exhaust memory (std::bad_alloc, exit 134, after most of a minute).
 */
import { execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { UsageError } from '../../src/core/errors.js';
import { MAX_CA_FILE_BYTES, readCaFile } from '../../src/io/ca-file.js';

const fresh = () => mkdtempSync(join(tmpdir(), 'authctl-ca-'));
const fifo = () => {
  const path = join(fresh(), 'ca.fifo');
  execFileSync('mkfifo', [path]);
  return path;
};
const PEM = '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n';

function refusal(path: string): UsageError {
  let error: unknown;
  try {
    readCaFile(path);
  } catch (e) {
    error = e;
  }
  expect(error).toBeInstanceOf(UsageError);
  return error as UsageError;
}

describe('the CA file', () => {
  it('reads a PEM file as it is', () => {
    const path = join(fresh(), 'ca.pem');
    writeFileSync(path, PEM);
    expect(readCaFile(path)).toBe(PEM);
  });

  it('/dev/zero and /dev/urandom: refused at once (exit 2), naming the file, never read', () => {
    const started = Date.now();
    for (const device of ['/dev/zero', '/dev/urandom']) {
      const error = refusal(device);
      expect(error.message).toBe(`the CA file ${device} is not a file (a device)`);
      expect(error.hint).toBe('give a PEM file with --cacert (or OS_CACERT / AUTHCTL_CACERT)');
    }
    expect(Date.now() - started).toBeLessThan(1000);
  });

  it('a file over 4 MiB: refused by its size, naming the limit; one of exactly 4 MiB reads', () => {
    const path = join(fresh(), 'huge.pem');
    writeFileSync(path, '');
    truncateSync(path, 8 * 1024 ** 3); // sparse: 8 GiB that take no disk
    expect(refusal(path).message).toBe(`the CA file ${path} is over 4 MiB, more than a CA bundle can sensibly be (authctl reads up to 4 MiB)`);
    truncateSync(path, MAX_CA_FILE_BYTES);
    expect(readCaFile(path).length).toBe(MAX_CA_FILE_BYTES);
  });

  it('a pipe (`--cacert <(...)`) is read, up to the limit', async () => {
    const endless = fifo();
    // An endless writer: a child process, since opening the FIFO blocks until both ends are open.
    const writer = spawn(process.execPath, ['-e', `const fs=require('fs');const fd=fs.openSync(${JSON.stringify(endless)},'w');const b=Buffer.alloc(65536,65);try{for(;;)fs.writeSync(fd,b)}catch{}`], { stdio: 'ignore' });
    try {
      expect(refusal(endless).message).toMatch(/^the CA file .* is over 4 MiB/);
    } finally {
      writer.kill();
    }
    const second = fifo();
    const small = spawn(process.execPath, ['-e', `require('fs').writeFileSync(${JSON.stringify(second)}, ${JSON.stringify(PEM)})`], { stdio: 'ignore' });
    expect(readCaFile(second)).toBe(PEM);
    small.kill();
  });

  it('a directory or a missing file: refused, naming it', () => {
    const dir = fresh();
    expect(refusal(dir).message).toMatch(new RegExp(`^(the CA file ${dir} is not a file \\(a directory\\)|cannot read the CA file ${dir}: )`));
    expect(refusal(join(dir, 'missing.pem')).message).toMatch(/^cannot read the CA file .*missing\.pem: ENOENT/);
  });
});
