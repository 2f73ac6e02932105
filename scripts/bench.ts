/**
 * `npm run bench`: how much authctl costs, measured against `node -e 0` in the same run.
 *
 * Starts what it needs on 127.0.0.1 (the project's test IAM server, and the real Keystone when it
 * is installed; a private gnome-keyring when installed, else only the file store), then times
 * each row at least --runs times, interleaving the rows round by round so that drift in the
 * machine's speed affects them all alike. Prints one table; `--json` prints the results as JSON
 * on stdout instead (the table then goes to stderr).
 *
 *
 * The child processes run without NODE_EXTRA_CA_CERTS (Node reads and parses that file at every
 * start, ~30 ms, which is the caller's cost, not authctl's); --with-extra-ca measures the fast
 * rows with it as well (it must be set in the environment of `npm run bench`).
 *
 * Reference rows, in the same interleaved run, are what the targets compare against: node with one
 * bare keychain lookup (@napi-rs/keyring), and node with one scryptSync (N=16384, the file store's).
 *
 *   npm run bench                 # table
 *   npm run bench -- --json       # JSON, e.g. > bench.json
 *   npm run bench -- --runs 30 --iam test
 *   npm run bench -- --with-extra-ca
 *   npm run bench -- --instructions  # also CPU instructions per warm row (valgrind), repeatable on a busy machine
 */
import { spawn, spawnSync, type SpawnSyncReturns } from 'node:child_process';
import { createCipheriv, createHmac, hkdfSync, randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { startKeyring, type KeyringHarness } from '../test/harness/keyring.js';
import { keystoneMissing, startKeystone, type KeystoneHarness } from '../test/harness/keystone.js';
import { SCRYPT } from '../src/store/file-store.js';
import { keychainService } from '../src/store/open.js';
import { startRemoteIam } from '../test/helpers/iam-client.js';

const BIN = fileURLToPath(new URL('../bin/authctl', import.meta.url));
const KEYRING_MODULE = fileURLToPath(new URL('../node_modules/@napi-rs/keyring/index.js', import.meta.url));
/** A file store key for the raw-key rows (any 32 bytes will do for timing). */
const FILE_KEY = Buffer.alloc(32, 7).toString('base64');
const PASSPHRASE = 'bench passphrase';
const NODE = process.execPath;
const SYSTEM_PATH = '/usr/sbin:/usr/bin:/sbin:/bin';

const { values: flags } = parseArgs({
  options: {
    json: { type: 'boolean', default: false },
    runs: { type: 'string', default: '20' },
    iam: { type: 'string', default: 'auto' },
    'with-extra-ca': { type: 'boolean', default: false },
    instructions: { type: 'boolean', default: false },
  },
});
const RUNS = Math.max(10, Number(flags.runs));
const out = (line = '') => (flags.json ? process.stderr : process.stdout).write(`${line}\n`);

type Env = Record<string, string | undefined>;

interface Command {
  name: string;
  argv: string[];
  env?: Env;
  /** Runs before each timed run, untimed (e.g. a fresh, empty config directory). */
  prepare?: () => Env;
  /** Exit status that counts as success. */
  ok?: (result: SpawnSyncReturns<string>) => boolean;
}

interface Row {
  name: string;
  runs: number;
  median_ms: number;
  p10_ms: number;
  p90_ms: number;
  ratio: number | null;
  note?: string;
}

function percentile(sorted: number[], p: number): number {
  const index = Math.min(sorted.length - 1, Math.max(0, Math.round((p / 100) * (sorted.length - 1))));
  return sorted[index]!;
}

function summary(name: string, samples: number[], floor: number | null, note?: string): Row {
  const sorted = [...samples].sort((a, b) => a - b);
  const median = percentile(sorted, 50);
  const row: Row = { name, runs: samples.length, median_ms: round(median), p10_ms: round(percentile(sorted, 10)), p90_ms: round(percentile(sorted, 90)), ratio: floor ? round(median / floor, 2) : null };
  if (note) row.note = note;
  return row;
}

const round = (value: number, digits = 1) => Number(value.toFixed(digits));

function timeOnce(command: Command): number {
  const env = { ...(command.env ?? {}), ...(command.prepare?.() ?? {}) };
  const started = performance.now();
  const result = spawnSync(command.argv[0]!, command.argv.slice(1), { env: clean(env), encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  const took = performance.now() - started;
  if (!(command.ok ?? ((r) => r.status === 0))(result)) {
    throw new Error(`${command.name} failed (${result.status}): ${result.stderr}`);
  }
  return took;
}

/** Times every command `runs` times, round-robin. */
function measure(commands: Command[], runs: number): Map<string, number[]> {
  const samples = new Map(commands.map((c) => [c.name, [] as number[]]));
  for (const command of commands) timeOnce(command); // warm the page cache
  for (let round = 0; round < runs; round++) {
    for (const command of commands) samples.get(command.name)!.push(timeOnce(command));
  }
  return samples;
}

function clean(env: Env): Record<string, string> {
  return Object.fromEntries(Object.entries(env).filter(([, v]) => v !== undefined)) as Record<string, string>;
}

/** Peak RSS (KB) of a command, by GNU time. */
function peakRss(command: Command): number | undefined {
  if (!existsSync('/usr/bin/time')) return undefined;
  const result = spawnSync('/usr/bin/time', ['-f', '%M', ...command.argv], { env: clean(command.env ?? {}), encoding: 'utf8' });
  const kb = Number(result.stderr.trim().split('\n').at(-1));
  return Number.isFinite(kb) ? kb : undefined;
}

/**
 * CPU instructions a command executes, by valgrind's callgrind (its own threads included, other
 * processes such as the keychain daemon not): the same for the same binary and inputs whatever
 * else the machine is doing, so ratios of it hold where wall-clock medians drift. Less the
 * primality search Node 20.20+ runs at start-up for a random hash seed (`detail::sprp`, 4-10M
 * instructions, a different count in every process, authctl's or `node -e 0`): with it, a row's
 * median moves by several million between runs of the same build.
 */
function instructionsOnce(command: Command): number {
  const env = { ...(command.env ?? {}), ...(command.prepare?.() ?? {}) };
  const dir = mkdtempSync(join(tmpdir(), 'authctl-bench-callgrind-'));
  try {
    const out = join(dir, 'callgrind.out');
    const result = spawnSync('valgrind', ['--tool=callgrind', `--callgrind-out-file=${out}`, ...command.argv], { env: clean(env), encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
    const collected = /Collected : (\d+)/.exec(result.stderr);
    if (result.status !== 0 || !collected) throw new Error(`${command.name} under valgrind failed (${result.status}): ${result.stderr.slice(-500)}`);
    return Number(collected[1]) - hashSeedSearch(out);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** The instructions spent in `detail::sprp` (inclusive), from a callgrind output file; 0 where Node has no such search. */
function hashSeedSearch(file: string): number {
  const annotated = spawnSync('callgrind_annotate', ['--inclusive=yes', '--threshold=100', file], { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
  if (annotated.status !== 0) throw new Error(`callgrind_annotate failed: ${annotated.stderr.slice(-300)}`);
  const line = annotated.stdout.split('\n').find((text) => /detail::sprp\(/.test(text));
  return line ? Number(line.trim().split(/\s+/)[0]!.replace(/,/g, '')) : 0;
}

function medianOf(values: number[]): number {
  return percentile([...values].sort((a, b) => a - b), 50);
}

const authctl = (args: string[]): string[] => [NODE, BIN, ...args];

function cli(args: string[], env: Env) {
  return spawnSync(NODE, [BIN, ...args], { env: clean(env), encoding: 'utf8' });
}

async function concurrent(count: number, argv: string[], env: Env): Promise<{ slowestMs: number; tokens: Set<string>; failures: number }> {
  const started = performance.now();
  const results = await Promise.all(
    Array.from({ length: count }, () =>
      new Promise<{ code: number | null; stdout: string; ms: number }>((resolve) => {
        const child = spawn(argv[0]!, argv.slice(1), { env: clean(env) });
        let stdout = '';
        child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
        child.on('close', (code) => resolve({ code, stdout, ms: performance.now() - started }));
      }),
    ),
  );
  return {
    slowestMs: Math.max(...results.map((r) => r.ms)),
    tokens: new Set(results.map((r) => r.stdout)),
    failures: results.filter((r) => r.code !== 0).length,
  };
}

async function main(): Promise<void> {
  const cleanup: (() => Promise<void> | void)[] = [];
  try {
    // In its own process: the timing loop below blocks this one.
    const iam = await startRemoteIam();
    cleanup.push(() => iam.stop());

    const keyringStart = existsSync('/usr/bin/gnome-keyring-daemon') ? await startKeyring() : { ok: false as const, reason: 'gnome-keyring is not installed' };
    const keyring: KeyringHarness | undefined = keyringStart.ok ? keyringStart.keyring : undefined;
    if (keyring) cleanup.push(() => keyring.stop());
    else out(`note: ${keyringStart.ok ? '' : keyringStart.reason}; keychain rows skipped, file store only`);

    const useKeystone = flags.iam === 'keystone' || (flags.iam === 'auto' && keystoneMissing() === undefined);
    let keystone: KeystoneHarness | undefined;
    if (useKeystone) {
      out('starting a real Keystone (about 10 s)...');
      const started = await startKeystone();
      if (!started.ok) throw new Error(started.reason);
      keystone = started.keystone;
      cleanup.push(() => keystone!.stop());
    }

    const realm = await iam.createRealm();
    const login: Env = keystone
      ? { OS_AUTH_URL: keystone.url, OS_USERNAME: keystone.fixtures.member.name, OS_USER_DOMAIN_NAME: 'Fiware', OS_PROJECT_NAME: '/smartcity', OS_PASSWORD: keystone.fixtures.member.password }
      : { OS_AUTH_URL: realm.authUrl, OS_USERNAME: realm.fixtures.user.name, OS_USER_DOMAIN_NAME: realm.fixtures.user.domain, OS_PROJECT_NAME: realm.fixtures.project.name, OS_PASSWORD: realm.fixtures.user.password };
    // Every row runs in the caller's own environment (minus authctl's and OpenStack's settings, and
    // NODE_EXTRA_CA_CERTS, which alone adds ~30 ms to every Node start), so that node -e 0 pays the
    // same start-up costs as authctl.
    const extraCa = process.env.NODE_EXTRA_CA_CERTS || undefined;
    if (flags['with-extra-ca'] && !extraCa) throw new Error('--with-extra-ca: NODE_EXTRA_CA_CERTS is not set in this environment');
    const inherited = Object.fromEntries(Object.entries(process.env).filter(([name]) => !/^(AUTHCTL_|OS_|DBUS_SESSION_BUS_ADDRESS$|NODE_EXTRA_CA_CERTS$)/.test(name)));
    const base: Env = { ...inherited, PATH: SYSTEM_PATH, HOME: mkdtempSync(join(tmpdir(), 'authctl-bench-')), DBUS_SESSION_BUS_ADDRESS: keyring?.busAddress };
    const dirs: string[] = [];
    const newDir = () => {
      const dir = mkdtempSync(join(tmpdir(), 'authctl-bench-config-'));
      dirs.push(dir);
      return dir;
    };
    cleanup.push(() => dirs.forEach((dir) => rmSync(dir, { recursive: true, force: true })));

    // Warm caches: one profile in the keychain, one in the file store. The warm rows run without a password.
    const warm = (store: 'keychain' | 'file', secret: Env = {}): Env => {
      const env = { ...base, ...login, ...secret, AUTHCTL_CONFIG_DIR: newDir(), AUTHCTL_STORE: store };
      const result = cli(['login'], env);
      if (result.status !== 0) throw new Error(`login (${store}) failed: ${result.stderr}`);
      return { ...env, OS_PASSWORD: undefined };
    };
    const warmKeychain = keyring ? warm('keychain') : undefined;
    const warmFile = warm('file');
    const warmFileKey = warm('file', { AUTHCTL_FILE_KEY: FILE_KEY });
    const warmFilePassphrase = warm('file', { AUTHCTL_FILE_PASSPHRASE: PASSPHRASE });

    const floor: Command = { name: 'node -e 0', argv: [NODE, '-e', '0'], env: base };
    const names = {
      keychainLookup: 'ref: node + one bare keychain lookup',
      keychainWrite: 'ref: node + one bare keychain write',
      scrypt: `ref: node + one scryptSync N=${SCRYPT.N}`,
      decrypt: 'ref: node + node:crypto, one AES-GCM entry',
      keychain: 'token get, warm, keychain',
      fileKey: 'token get, warm, file store, AUTHCTL_FILE_KEY',
      filePassphrase: 'token get, warm, file store, passphrase',
    };
    const fast: Command[] = [floor, { name: 'authctl --version', argv: authctl(['--version']), env: base }];
    if (warmKeychain) {
      // What the keychain rows cannot go below: Node, the binding, one Secret Service lookup of the same entry.
      const lookup = `const { AsyncEntry } = require(${JSON.stringify(KEYRING_MODULE)}); new AsyncEntry(process.env.BENCH_SERVICE, 'default:token', { linux: { store: 'secret-service' } }).getPassword().then((v) => process.exit(v ? 0 : 1), () => process.exit(1));`;
      fast.push({ name: names.keychainLookup, argv: [NODE, '-e', lookup], env: { ...base, BENCH_SERVICE: keychainService(warmKeychain.AUTHCTL_CONFIG_DIR) } });
      fast.push({ name: names.keychain, argv: authctl(['token', 'get']), env: warmKeychain });
      fast.push({ name: 'export, warm, keychain', argv: authctl(['export']), env: warmKeychain });
    }
    fast.push({ name: 'token get, warm, file store, plain text', argv: authctl(['token', 'get']), env: warmFile });
    fast.push({ name: 'export, warm, file store, plain text', argv: authctl(['export']), env: warmFile });
    fast.push({ name: names.fileKey, argv: authctl(['token', 'get']), env: warmFileKey });
    // What an AES-GCM store on node:crypto cannot go below: loading node:crypto, the entry's key
    // (HKDF, HMAC key id) and one decryption of a real 2 KB entry, which must succeed.
    const entryKey = Buffer.from(hkdfSync('sha256', Buffer.from(FILE_KEY, 'base64'), Buffer.alloc(0), 'bench', 32));
    const entryIv = randomBytes(12);
    const cipher = createCipheriv('aes-256-gcm', entryKey, entryIv).setAAD(Buffer.from('default:token'));
    const entryData = Buffer.concat([cipher.update(randomBytes(2048)), cipher.final()]);
    const entry = { key: FILE_KEY, iv: entryIv.toString('base64'), tag: cipher.getAuthTag().toString('base64'), data: entryData.toString('base64'), kid: createHmac('sha256', entryKey).update('id').digest('base64') };
    const decrypt = [
      "const c = require('node:crypto'); const e = JSON.parse(process.env.BENCH_ENTRY); const b = (s) => Buffer.from(s, 'base64');",
      "const k = Buffer.from(c.hkdfSync('sha256', b(e.key), Buffer.alloc(0), 'bench', 32));",
      "if (c.createHmac('sha256', k).update('id').digest('base64') !== e.kid) process.exit(1);",
      "const d = c.createDecipheriv('aes-256-gcm', k, b(e.iv)); d.setAAD(Buffer.from('default:token')); d.setAuthTag(b(e.tag));",
      'Buffer.concat([d.update(b(e.data)), d.final()]);',
    ].join(' ');
    fast.push({ name: names.decrypt, argv: [NODE, '-e', decrypt], env: { ...base, BENCH_ENTRY: JSON.stringify(entry) } });
    fast.push({ name: names.scrypt, argv: [NODE, '-e', `require('node:crypto').scryptSync('x', Buffer.alloc(16), 32, ${JSON.stringify(SCRYPT)})`], env: base });
    fast.push({ name: names.filePassphrase, argv: authctl(['token', 'get']), env: warmFilePassphrase });
    const withCa = (command: Command): Command => ({ ...command, name: `${command.name} [NODE_EXTRA_CA_CERTS]`, env: { ...command.env, NODE_EXTRA_CA_CERTS: extraCa } });
    const floorCa = withCa(floor);
    const extra: Command[] = flags['with-extra-ca'] ? [floorCa, ...fast.filter((c) => c !== floor && !c.name.startsWith('ref:') && c.name.startsWith('token get')).map(withCa)] : [];

    out(`timing ${fast.length + extra.length} commands x ${RUNS} runs, interleaved...`);
    const fastSamples = measure([...fast, ...extra], RUNS);
    const floorMs = medianOf(fastSamples.get(floor.name)!);
    const floorCaMs = extra.length ? medianOf(fastSamples.get(floorCa.name)!) : null;
    const rows: Row[] = [...fast.map((c) => summary(c.name, fastSamples.get(c.name)!, floorMs)), ...extra.map((c) => summary(c.name, fastSamples.get(c.name)!, floorCaMs))];
    const medianFor = (name: string) => rows.find((r) => r.name === name)?.median_ms;

    // The same rows in CPU instructions, interleaved (about 2 s a run under valgrind).
    const instructionRows: { name: string; runs: number; median_minstr: number; ratio: number }[] = [];
    if (flags.instructions) {
      if (spawnSync('valgrind', ['--version']).status !== 0 || spawnSync('callgrind_annotate', ['--version']).error !== undefined) throw new Error('--instructions needs valgrind and its callgrind_annotate (apt-get install valgrind)');
      const counted = fast.filter((c) => c !== fast[1]); // not --version: the full CLI is not the warm path
      const runs = 7;
      out(`counting instructions of ${counted.length} commands x ${runs} runs under valgrind...`);
      const samples = new Map(counted.map((c) => [c.name, [] as number[]]));
      for (const command of counted) instructionsOnce(command); // a first run writes authctl's code cache
      for (let run = 0; run < runs; run++) for (const command of counted) samples.get(command.name)!.push(instructionsOnce(command));
      const floorCount = medianOf(samples.get(floor.name)!);
      for (const command of counted) {
        const median = medianOf(samples.get(command.name)!);
        instructionRows.push({ name: command.name, runs, median_minstr: round(median / 1e6), ratio: round(median / floorCount, 2) });
      }
    }
    const instructionsFor = (name: string) => instructionRows.find((r) => r.name === name)?.median_minstr;

    // An empty cache: every run in a fresh config directory, so authctl logs in.
    const authUrl = login.OS_AUTH_URL!;
    const body = JSON.stringify({
      auth: {
        identity: { methods: ['password'], password: { user: { name: login.OS_USERNAME, domain: { name: login.OS_USER_DOMAIN_NAME }, password: login.OS_PASSWORD } } },
        scope: { project: { name: login.OS_PROJECT_NAME, domain: { name: login.OS_USER_DOMAIN_NAME } } },
      },
    });
    const cold: Command[] = [
      floor,
      {
        name: `token get, empty cache (login)${keyring ? ', keychain' : ', file store'}`,
        argv: authctl(['token', 'get']),
        env: { ...base, ...login, AUTHCTL_STORE: keyring ? 'keychain' : 'file' },
        prepare: () => ({ AUTHCTL_CONFIG_DIR: newDir() }),
      },
    ];
    if (existsSync('/usr/bin/curl')) {
      cold.push({ name: 'curl, the same login request', argv: ['/usr/bin/curl', '-sf', '-o', '/dev/null', '-H', 'Content-Type: application/json', '-d', body, `${authUrl}/auth/tokens`], env: base });
    }
    if (warmKeychain) {
      // What the empty-cache row cannot go below besides Node and the request: one keychain write.
      const write = `const { AsyncEntry } = require(${JSON.stringify(KEYRING_MODULE)}); new AsyncEntry(process.env.BENCH_SERVICE, 'bench:write', { linux: { store: 'secret-service' } }).setPassword('x'.repeat(200)).then(() => process.exit(0), () => process.exit(1));`;
      cold.push({ name: names.keychainWrite, argv: [NODE, '-e', write], env: { ...base, BENCH_SERVICE: keychainService(warmKeychain.AUTHCTL_CONFIG_DIR) } });
    }
    // The full CLI's commands, against the same IAM: each should cost little more than the cold token get.
    const warmEnv = warmKeychain ?? warmFile;
    const store = keyring ? 'keychain' : 'file';
    const loggedIn = (): Env => {
      const env = { ...base, ...login, AUTHCTL_STORE: store, AUTHCTL_CONFIG_DIR: newDir() };
      if (cli(['login'], env).status !== 0) throw new Error('login for the logout row failed');
      return { AUTHCTL_CONFIG_DIR: env.AUTHCTL_CONFIG_DIR };
    };
    cold.push(
      { name: 'login (full CLI), empty cache', argv: authctl(['login']), env: { ...base, ...login, AUTHCTL_STORE: store }, prepare: () => ({ AUTHCTL_CONFIG_DIR: newDir() }) },
      { name: 'token check (asks IAM)', argv: authctl(['token', 'check']), env: warmEnv },
      { name: 'status', argv: authctl(['status']), env: warmEnv },
      { name: 'logout (revokes at IAM)', argv: authctl(['logout']), env: { ...base, AUTHCTL_STORE: store }, prepare: loggedIn },
    );
    if (keystone && existsSync('/usr/bin/openstack')) {
      cold.push({
        name: 'openstack token issue',
        argv: ['/usr/bin/openstack', 'token', 'issue', '-f', 'value', '-c', 'id'],
        env: { ...base, ...login, OS_PROJECT_DOMAIN_NAME: login.OS_USER_DOMAIN_NAME, OS_IDENTITY_API_VERSION: '3' },
      });
    }
    out(`timing the empty-cache path against ${keystone ? 'Keystone' : 'the test IAM server'}...`);
    const coldSamples = measure(cold, RUNS);
    const coldFloor = medianOf(coldSamples.get(floor.name)!);
    for (const command of cold.slice(1)) rows.push(summary(command.name, coldSamples.get(command.name)!, coldFloor));

    // 32 processes at once on an expired cache: the test IAM server counts the requests.
    out('32 concurrent token get on an expired cache...');
    const concurrency = [] as { requests: number; slowestMs: number; same: boolean; failures: number }[];
    const bareNode = [] as number[];
    for (let trial = 0; trial < Math.max(10, Math.floor(RUNS / 2)); trial++) {
      // The floor for this row: 32 processes that do nothing but start Node, on the same cores.
      bareNode.push((await concurrent(32, [NODE, '-e', '0'], base)).slowestMs);
      const trialRealm = await iam.createRealm({ delayMs: 5 });
      const env = { ...base, OS_AUTH_URL: trialRealm.authUrl, OS_USERNAME: trialRealm.fixtures.user.name, OS_USER_DOMAIN_NAME: 'Fiware', OS_PROJECT_NAME: '/smartcity', OS_PASSWORD: trialRealm.fixtures.user.password, AUTHCTL_CONFIG_DIR: newDir(), AUTHCTL_STORE: keyring ? 'keychain' : 'file' };
      if (cli(['login'], env).status !== 0) throw new Error('login for the concurrency trial failed');
      await iam.configureRealm(trialRealm, { tokenTtlSeconds: 3 * 3600 }); // the cached 1 h token is due under --min-ttl 2h, a new 3 h one is not
      const before = (await iam.requests(trialRealm)).length;
      const result = await concurrent(32, [NODE, BIN, 'token', 'get', '--min-ttl', '2h'], env);
      concurrency.push({ requests: (await iam.requests(trialRealm)).length - before, slowestMs: result.slowestMs, same: result.tokens.size === 1, failures: result.failures });
    }
    const coldLoginMs = rows.find((r) => r.name.startsWith('token get, empty cache'))!.median_ms;
    const slowest = summary('32 concurrent token get, expired cache, slowest', concurrency.map((c) => c.slowestMs), null);
    const nodeSlowest = summary('32 concurrent node -e 0, slowest', bareNode, null);

    // Peak memory of the warm path (the first warm row: the keychain's when there is one), interleaved too.
    const warmCommand = fast.find((c) => c.name.startsWith('token get, warm'))!;
    const fileKeyCommand = fast.find((c) => c.name === names.fileKey)!;
    const rssFloor: number[] = [];
    const rssWarm: number[] = [];
    const rssFileKey: number[] = [];
    for (let i = 0; i < 10; i++) {
      for (const [command, samples] of [[floor, rssFloor], [warmCommand, rssWarm], [fileKeyCommand, rssFileKey]] as const) {
        const kb = peakRss(command);
        if (kb !== undefined) samples.push(kb);
      }
    }

    const curl = rows.find((r) => r.name.startsWith('curl'));
    const against = (name: string, reference: string, limit: number) => {
      const value = medianFor(name);
      const ref = medianFor(reference);
      if (value === undefined || ref === undefined) return [];
      const ratio = round(value / ref, 2);
      return [{ target: `${name}: median <= ${limit} x ${reference.replace(/^ref: /, '')}`, value: `${ratio} x (${value} ms vs ${ref} ms)`, met: ratio <= limit }];
    };
    const rss = (label: string, samples: number[], limit: number) =>
      samples.length && rssFloor.length
        ? [{ target: `${label}: peak RSS <= ${limit} x node -e 0`, value: `${round(medianOf(samples) / medianOf(rssFloor), 2)} x (${round(medianOf(samples) / 1024)} MB vs ${round(medianOf(rssFloor) / 1024)} MB)`, met: medianOf(samples) <= limit * medianOf(rssFloor) }]
        : [];
    const againstInstructions = (name: string, reference: string, limit: number) => {
      const value = instructionsFor(name);
      const ref = instructionsFor(reference);
      if (value === undefined || ref === undefined) return [];
      const ratio = round(value / ref, 2);
      return [{ target: `${name}: instructions <= ${limit} x ${reference.replace(/^ref: /, '')}`, value: `${ratio} x (${value}M vs ${ref}M)`, met: ratio <= limit }];
    };
    const targets = [
      ...against(names.keychain, names.keychainLookup, 1.1),
      ...againstInstructions(names.keychain, names.keychainLookup, 1.1),
      ...againstInstructions(names.fileKey, floor.name, 1.25),
      ...againstInstructions(names.fileKey, names.decrypt, 1.1),
      ...againstInstructions(names.filePassphrase, names.scrypt, 1.1),
      ...against(names.fileKey, floor.name, 1.25),
      ...against(names.fileKey, names.decrypt, 1.1),
      ...against(names.filePassphrase, names.scrypt, 1.1),
      ...rss(warmCommand.name, rssWarm, 1.2),
      ...rss(fileKeyCommand.name, rssFileKey, 1.2),
      ...rows.filter((r) => r.name.includes('warm') && !r.name.includes('[')).map((r) => ({ target: `${r.name}: median <= 1.3 x node -e 0`, value: `${r.ratio} x`, met: (r.ratio ?? Infinity) <= 1.3 })),
      ...(curl
        ? (() => {
            // Node, the request, one keychain write (the write row includes Node), and 10 ms.
            const write = medianFor(names.keychainWrite) ?? coldFloor;
            const limit = round(write + curl.median_ms + 10);
            return [{ target: `empty cache: <= node + one keychain write + curl + 10 ms`, value: `${coldLoginMs} ms vs ${limit} ms`, met: coldLoginMs <= limit }];
          })()
        : []),
      ...['login (full CLI), empty cache', 'token check (asks IAM)', 'status', 'logout (revokes at IAM)'].flatMap((name) => {
        const value = medianFor(name);
        return value === undefined ? [] : [{ target: `${name}: median <= 1.5 x the empty-cache token get`, value: `${round(value / coldLoginMs, 2)} x (${value} ms vs ${coldLoginMs} ms)`, met: value <= 1.5 * coldLoginMs }];
      }),
      { target: '32 concurrent, expired cache: exactly 1 IAM request', value: `${[...new Set(concurrency.map((c) => c.requests))].join(', ')} request(s) per trial`, met: concurrency.every((c) => c.requests === 1) },
      { target: '32 concurrent: all print the same token', value: `${concurrency.filter((c) => c.same && c.failures === 0).length} of ${concurrency.length} trials`, met: concurrency.every((c) => c.same && c.failures === 0) },
      {
        target: '32 concurrent: slowest within 1 s of a single cold call',
        value: `${slowest.median_ms} ms vs ${coldLoginMs} ms (32 bare node -e 0 alone: ${nodeSlowest.median_ms} ms)`,
        met: slowest.median_ms <= coldLoginMs + 1000,
      },
    ];

    const result = {
      date: new Date().toISOString(),
      machine: { node: process.version, cpus: cpus().length, cpu: cpus()[0]?.model ?? 'unknown' },
      iam: keystone ? 'keystone' : 'test IAM server',
      keychain: keyring ? 'gnome-keyring (Secret Service)' : 'none',
      runs: RUNS,
      /** Whether the child processes ran with NODE_EXTRA_CA_CERTS: never, or also (rows marked so) with --with-extra-ca. */
      node_extra_ca_certs: extra.length ? 'unset, and set for the rows marked [NODE_EXTRA_CA_CERTS]' : 'unset',
      rows,
      instructions: instructionRows,
      concurrency: { trials: concurrency, slowest, bare_node_slowest: nodeSlowest },
      rss_kb: {
        node: rssFloor.length ? medianOf(rssFloor) : null,
        warm_token_get: rssWarm.length ? medianOf(rssWarm) : null,
        warm_token_get_file_key: rssFileKey.length ? medianOf(rssFileKey) : null,
      },
      targets,
    };

    out();
    out(`authctl benchmark: ${result.machine.cpus} x ${result.machine.cpu}, Node ${process.version}, IAM: ${result.iam}, keychain: ${result.keychain}, ${RUNS} runs per row`);
    out(`environment: NODE_EXTRA_CA_CERTS unset for the child processes${extra.length ? ' (set for the rows marked [NODE_EXTRA_CA_CERTS], compared with node -e 0 with it)' : extraCa ? ' (set in this shell; --with-extra-ca also measures with it)' : ''}`);
    out();
    out('| command | median | p10-p90 | x node -e 0 |');
    out('|---|---:|---:|---:|');
    for (const row of rows) out(`| ${row.name} | ${row.median_ms} ms | ${row.p10_ms}-${row.p90_ms} ms | ${row.ratio ?? ''} |`);
    out(`| ${nodeSlowest.name} (${bareNode.length} trials) | ${nodeSlowest.median_ms} ms | ${nodeSlowest.p10_ms}-${nodeSlowest.p90_ms} ms | |`);
    out(`| ${slowest.name} (${concurrency.length} trials) | ${slowest.median_ms} ms | ${slowest.p10_ms}-${slowest.p90_ms} ms | |`);
    if (result.rss_kb.node && result.rss_kb.warm_token_get) {
      out(`| peak RSS: node -e 0 / ${warmCommand.name} | ${round(result.rss_kb.node / 1024)} MB / ${round(result.rss_kb.warm_token_get / 1024)} MB | | ${round(result.rss_kb.warm_token_get / result.rss_kb.node, 2)} |`);
    }
    if (result.rss_kb.node && result.rss_kb.warm_token_get_file_key) {
      out(`| peak RSS: node -e 0 / ${fileKeyCommand.name} | ${round(result.rss_kb.node / 1024)} MB / ${round(result.rss_kb.warm_token_get_file_key / 1024)} MB | | ${round(result.rss_kb.warm_token_get_file_key / result.rss_kb.node, 2)} |`);
    }
    if (instructionRows.length) {
      out();
      out(`| command | instructions (median of ${instructionRows[0]!.runs}, callgrind) | x node -e 0 |`);
      out('|---|---:|---:|');
      for (const row of instructionRows) out(`| ${row.name} | ${row.median_minstr}M | ${row.ratio} |`);
    }
    out();
    out('| target | measured | met |');
    out('|---|---|---|');
    for (const target of targets) out(`| ${target.target} | ${target.value} | ${target.met ? 'yes' : 'NO'} |`);
    if (flags.json) process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
  } finally {
    for (const step of cleanup.reverse()) await step();
  }
}

main().catch((error: unknown) => {
  process.stderr.write(`bench: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  process.exitCode = 1;
});
