import { basename, dirname, isAbsolute, join, resolve } from 'node:path';
import { isAlias, isCollection, isPair, Lexer, LineCounter, parseDocument, visit, type Alias, type Document, type DocumentOptions, type Node, type ParseOptions, type SchemaOptions } from 'yaml';
import { UsageError } from '../core/errors.js';
import { checkText } from '../core/settings.js';
import { withoutUndefined } from '../util/objects.js';
import { domainAsDefaults, type KeystoneSettings } from './keystone-identity.js';
import { cloudsAuthKeys, cloudsAuthTypes, cloudsSecretKeys } from './registry.js';

/**
 * OpenStack's `clouds.yaml`, read the way openstacksdk's `openstack/config/loader.py` reads it:
 * the first existing file of a search list is used (several are never merged), and the first
 * existing `secure.yaml` of a second list is merged over it, secure values winning.
 * Pure: file reading is injected.
 */

export interface CloudFiles {
  /** The file's text, or undefined when it does not exist. */
  readFile(path: string): string | undefined;
}

export interface CloudEntry {
  name: string;
  /** Where it was found (the clouds.yaml path), for messages. */
  source: string;
  settings: KeystoneSettings & Record<string, string | boolean | undefined>;
  password?: string;
  /** Secret `auth` values (`password`, `application_credential_secret`, ...), by their clouds.yaml key. */
  secrets: Record<string, string>;
  /** `auth_type`, as the entry names its method. */
  authType?: string;
  /** A CA file; a relative path is resolved against the directory of the file that gave it. */
  cacert?: string;
  verify?: boolean;
}

const EXTENSIONS = ['.yaml', '.yml', '.json'] as const;

/** The `auth` keys read, and the setting each becomes: from the methods' settings. */
const AUTH_KEYS = cloudsAuthKeys() as Record<string, keyof KeystoneSettings>;

type AuthKey = string;

/** The secret `auth` keys a method reads (`password`, `application_credential_secret`, ...). */
const SECRET_KEYS = cloudsSecretKeys();

/** The `auth_type` values a method of the registry logs in with. */
const AUTH_TYPES = new Set(cloudsAuthTypes());

type Mapping = Record<string, unknown>;

/** One file's entry for the cloud, checked and typed. */
interface RawCloud {
  path: string;
  auth: Partial<Record<AuthKey, string>>;
  password?: string;
  secrets: Record<string, string>;
  region?: string;
  /** `profile`: an openstacksdk vendor profile (`otc`), which gives the IAM URL from the region. */
  vendor?: string;
  cacert?: string;
  verify?: boolean;
  authType?: string;
}

interface YamlFile {
  path: string;
  data: unknown;
}

function unique(paths: string[]): string[] {
  return [...new Set(paths)];
}

function nonEmpty(value: string | undefined): string | undefined {
  return value === undefined || value.trim() === '' ? undefined : value;
}

/** openstacksdk's CONFIG_SEARCH_PATH on Linux (platformdirs' XDG directories, then the fixed ones). */
function searchDirs(env: Record<string, string | undefined>, cwd: string, home: string): string[] {
  const xdgHome = nonEmpty(env.XDG_CONFIG_HOME) ?? join(home, '.config');
  const xdgDirs = (nonEmpty(env.XDG_CONFIG_DIRS) ?? '/etc/xdg').split(':').filter((dir) => dir !== '');
  return unique([
    cwd,
    join(xdgHome, 'openstack'),
    join(home, '.config', 'openstack'),
    ...xdgDirs.map((dir) => join(dir, 'openstack')),
    '/etc/openstack',
  ]);
}

function candidates(override: string | undefined, base: string, dirs: string[], cwd: string): string[] {
  const files = dirs.flatMap((dir) => EXTENSIONS.map((ext) => join(dir, base + ext)));
  return unique(override === undefined || override === '' ? files : [resolve(cwd, override), ...files]);
}

/** Where `clouds.yaml` is looked for, in order: `OS_CLIENT_CONFIG_FILE`, then the search directories. */
export function cloudsYamlCandidates(env: Record<string, string | undefined>, cwd: string, home: string): string[] {
  return candidates(env.OS_CLIENT_CONFIG_FILE, 'clouds', searchDirs(env, cwd, home), cwd);
}

/** Where `secure.yaml` is looked for, in order: `OS_CLIENT_SECURE_FILE`, then the search directories. */
export function secureYamlCandidates(env: Record<string, string | undefined>, cwd: string, home: string): string[] {
  return candidates(env.OS_CLIENT_SECURE_FILE, 'secure', searchDirs(env, cwd, home), cwd);
}

/** `secure.*` beside each `clouds.*` candidate: the search directories, when no secure list is given. */
function secureBeside(cloudCandidates: string[]): string[] {
  return unique(
    cloudCandidates.flatMap((path) => {
      const match = /^clouds(\.(?:yaml|yml|json))$/.exec(basename(path));
      return match ? [join(dirname(path), `secure${match[1]}`)] : [];
    }),
  );
}

/**
 * YAML 1.2 with merge keys, and numbers kept as written: an id like `012345` or a 20-digit one
 * must reach Keystone unchanged, which a conversion to a JS number would not guarantee.
 */
const YAML_OPTIONS: ParseOptions & DocumentOptions & SchemaOptions = {
  merge: true,
  // PyYAML (openstacksdk's parser) lets a repeated key win; so do we.
  uniqueKeys: false,
  prettyErrors: false,
  customTags: (tags) => tags.filter((tag) => typeof tag === 'string' || !/:(int|float)$/.test(tag.tag)),
};

/** The parser's errors, in words. Its own messages can quote the file (a password, in secure.yaml). */
const YAML_PROBLEMS: Record<string, string> = {
  BAD_INDENT: 'bad indentation',
  TAB_AS_INDENT: 'a tab used for indentation',
  MISSING_CHAR: 'a closing quote, bracket or separator is missing',
  BAD_DQ_ESCAPE: 'an invalid escape sequence in a "double-quoted" value',
  UNEXPECTED_TOKEN: 'unexpected text',
};

function yamlError(path: string, code: string, line: number, col: number): UsageError {
  const problem = YAML_PROBLEMS[code] ?? code.toLowerCase().replaceAll('_', ' ');
  return new UsageError(`${path} is not valid YAML: ${problem} at line ${line}, column ${col}`, {
    hint: `fix line ${line} of ${path}`,
  });
}

/**
 * What a file may cost to parse, in units of one lexical token (a key, a value, an indicator such
 * as `:` `-` `{`, indentation, a line break). Parsing holds a few hundred bytes per token (the
 * syntax tree, then the document's nodes) whatever the layout, so counting tokens bounds memory
 * where a size limit cannot: 3.8 MB of `[a,a,a,...]` took 1.8 GB. The few things that cost more
 * than their tokens count extra: each line inside a multi-line value, each backslash in a quoted
 * value (an invalid escape is an error object), and every 16 characters of a quoted value.
 * A typical entry (auth_type, five auth keys, region, interface) is about 80, so this admits some
 * 3,500 of them (1.2 MB); the worst file it admits peaks below 256 MB.
 */
export const MAX_CLOUDS_YAML_COST = 300_000;

/**
 * Aliases (`*name`), at most: the parser resolves each one by a scan of the document's anchors
 * and aliases, so their number must stay small. PyYAML-style merges (`<<: *defaults`) are the
 * only use a clouds.yaml has for them; an anchor may be used at most 100 times anyway.
 */
export const MAX_CLOUDS_YAML_ALIASES = 500;

/** The most nodes the document may have with every alias expanded, as a merge (`<<:`) copies them. */
const MAX_EXPANDED_NODES = 500_000;

function tooLarge(path: string): UsageError {
  return new UsageError(
    `${path} is too large for a clouds.yaml: more than ${MAX_CLOUDS_YAML_COST.toLocaleString('en')} YAML tokens (authctl reads about 3,500 typical cloud entries)`,
    { hint: 'keep the clouds you use in a smaller file, and point OS_CLIENT_CONFIG_FILE (or OS_CLIENT_SECURE_FILE) at it' },
  );
}

function aliasError(path: string): UsageError {
  return new UsageError(`${path} is not valid YAML: too many or broken aliases`, { hint: `fix the anchors and aliases (& and *) in ${path}` });
}

function occurrences(text: string, char: string): number {
  let count = 0;
  for (let at = text.indexOf(char); at !== -1; at = text.indexOf(char, at + 1)) count++;
  return count;
}

/**
 * Refuses a file that would cost more than MAX_CLOUDS_YAML_COST, or has more than
 * MAX_CLOUDS_YAML_ALIASES aliases, before anything is built from it: one pass of the lexer,
 * which holds one token at a time.
 */
function checkCost(path: string, text: string): void {
  let cost = 0;
  let aliases = 0;
  for (const token of new Lexer().lex(text)) {
    cost += 1;
    if (token.length > 1) {
      const first = token[0];
      if (first === '*' && ++aliases > MAX_CLOUDS_YAML_ALIASES) throw aliasError(path);
      if (token !== '\r\n' && token.includes('\n')) cost += occurrences(token, '\n');
      if (first === '"' || first === "'") cost += (token.length >> 4) + occurrences(token, '\\');
    }
    if (cost > MAX_CLOUDS_YAML_COST) throw tooLarge(path);
  }
}

/**
 * The number of nodes of `doc` with every alias expanded (an alias inside its own anchor counts
 * one). The parser's own limit counts uses of an anchor, not its size: a merge of a mapping of
 * 50,000 keys into 99 others would build five million properties.
 */
function expandedNodes(doc: Document): number {
  const targets = new Map<Alias, Node>();
  const latest = new Map<string, Node>();
  // The anchor an alias names is the last one before it, in the document's order.
  visit(doc, {
    Node(_, node) {
      if (isAlias(node)) {
        const target = latest.get(node.source);
        if (target) targets.set(node, target);
      } else if (node.anchor) {
        latest.set(node.anchor, node);
      }
    },
  });
  const sizes = new Map<Node, number>();
  const open = new Set<Node>();
  const size = (node: unknown): number => {
    if (isAlias(node)) {
      const target = targets.get(node);
      return target === undefined || open.has(target) ? 1 : size(target);
    }
    if (isPair(node)) return size(node.key) + size(node.value);
    if (!isCollection(node)) return 1;
    const known = sizes.get(node);
    if (known !== undefined) return known;
    open.add(node);
    let total = 1;
    for (const item of node.items) total += size(item);
    open.delete(node);
    sizes.set(node, total);
    return total;
  };
  return size(doc.contents);
}

function parseYaml(path: string, text: string): unknown {
  checkCost(path, text);
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { ...YAML_OPTIONS, lineCounter });
  const error = doc.errors[0];
  if (error) {
    const { line, col } = lineCounter.linePos(error.pos[0]);
    throw yamlError(path, error.code, line, col);
  }
  try {
    if (expandedNodes(doc) > MAX_EXPANDED_NODES) throw aliasError(path);
    return doc.toJS();
  } catch {
    throw aliasError(path);
  }
}

function firstFile(files: CloudFiles, paths: readonly string[]): YamlFile | undefined {
  for (const path of paths) {
    const text = files.readFile(path);
    if (text !== undefined) return { path, data: parseYaml(path, text) };
  }
  return undefined;
}

function isMapping(value: unknown): value is Mapping {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function describe(value: unknown): string {
  if (value === undefined || value === null) return 'empty';
  if (Array.isArray(value)) return 'a list';
  if (isMapping(value)) return 'a mapping';
  if (typeof value === 'boolean') return `${value}`;
  return 'text';
}

function typeError(path: string, key: string, expected: string, value: unknown, hint: string): UsageError {
  return new UsageError(`${path}: ${key} must be ${expected}, not ${describe(value)}`, { hint });
}

function own(map: Mapping, key: string): unknown {
  return Object.hasOwn(map, key) ? map[key] : undefined;
}

function mappingAt(path: string, map: Mapping, key: string, where: string): Mapping | undefined {
  const value = own(map, key);
  if (value === undefined || value === null) return undefined;
  if (!isMapping(value)) throw typeError(path, where, 'a mapping', value, `write it as "${key}:" followed by indented "key: value" lines`);
  return value;
}

/** The cloud names a file defines, checking its shape on the way. */
function cloudsOf(file: YamlFile): Mapping {
  if (file.data === undefined || file.data === null) return {};
  if (!isMapping(file.data)) {
    throw typeError(file.path, 'the file', 'a mapping with a "clouds:" key', file.data, 'see the clouds.yaml format in the OpenStack documentation');
  }
  return mappingAt(file.path, file.data, 'clouds', 'clouds') ?? {};
}

/** A text value; YAML null and '' mean absent, as for openstacksdk. */
function textAt(path: string, map: Mapping, key: string, where: string): string | undefined {
  const value = own(map, key);
  if (!isPresent(value)) return undefined;
  if (typeof value !== 'string') throw typeError(path, where, 'text', value, `write it as ${key}: "..."`);
  return value;
}

function verifyAt(path: string, map: Mapping, where: string): boolean | undefined {
  const value = own(map, 'verify');
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'boolean') throw typeError(path, where, 'true or false', value, 'write verify: true or verify: false, without quotes');
  return value;
}

function isPresent(value: unknown): boolean {
  return value !== undefined && value !== null && value !== '';
}

function readAuth(path: string, auth: Mapping, prefix: string): Partial<Record<AuthKey, string>> {
  const out: Partial<Record<AuthKey, string>> = {};
  for (const key of Object.keys(AUTH_KEYS) as AuthKey[]) {
    const value = textAt(path, auth, key, `${prefix}.${key}`);
    if (value !== undefined) out[key] = checkText(value, `${prefix}.${key} in ${path}`);
  }
  return out;
}

function resolveCacert(path: string, cacert: string | undefined): string | undefined {
  if (cacert === undefined) return undefined;
  return isAbsolute(cacert) ? cacert : join(dirname(path), cacert);
}

/** One file's entry for the cloud, or undefined when the file has none. */
function readEntry(file: YamlFile, name: string): RawCloud | undefined {
  const clouds = cloudsOf(file);
  const prefix = `clouds.${name}`;
  if (own(clouds, name) === undefined) return undefined;
  const entry = mappingAt(file.path, clouds, name, prefix);
  if (!entry) throw typeError(file.path, prefix, 'a mapping', null, `give the cloud's settings as indented "key: value" lines under "${name}:"`);
  const auth = mappingAt(file.path, entry, 'auth', `${prefix}.auth`) ?? {};
  const region = textAt(file.path, entry, 'region_name', `${prefix}.region_name`);
  const cacert = textAt(file.path, entry, 'cacert', `${prefix}.cacert`);
  const vendor = textAt(file.path, entry, 'profile', `${prefix}.profile`);
  return withoutUndefined({
    path: file.path,
    auth: readAuth(file.path, auth, `${prefix}.auth`),
    password: textAt(file.path, auth, 'password', `${prefix}.auth.password`),
    secrets: Object.fromEntries(
      SECRET_KEYS.map((key) => [key, textAt(file.path, auth, key, `${prefix}.auth.${key}`)]).filter((pair): pair is [string, string] => pair[1] !== undefined),
    ),
    region: region === undefined ? undefined : checkText(region, `${prefix}.region_name in ${file.path}`),
    vendor: vendor === undefined ? undefined : checkText(vendor, `${prefix}.profile in ${file.path}`),
    cacert: resolveCacert(file.path, cacert === undefined ? undefined : checkText(cacert, `${prefix}.cacert in ${file.path}`)),
    verify: verifyAt(file.path, entry, `${prefix}.verify`),
    // auth_plugin is the old name; openstacksdk lets auth_type win over it.
    authType: textAt(file.path, entry, 'auth_type', `${prefix}.auth_type`) ?? textAt(file.path, entry, 'auth_plugin', `${prefix}.auth_plugin`),
  });
}


/** secure.yaml over clouds.yaml, as openstacksdk's merge_clouds does (auth merged key by key). */
function merge(base: RawCloud | undefined, secure: RawCloud | undefined): RawCloud | undefined {
  if (!base || !secure) return base ?? secure;
  return { ...base, ...secure, auth: { ...base.auth, ...secure.auth }, secrets: { ...base.secrets, ...secure.secrets } };
}

function checkAuthType(name: string, base: RawCloud | undefined, secure: RawCloud | undefined): void {
  const from = secure?.authType !== undefined ? secure : base;
  const authType = from?.authType;
  if (!from || authType === undefined || AUTH_TYPES.has(authType)) return;
  throw new UsageError(`${from.path}: cloud ${JSON.stringify(name)} has auth_type ${JSON.stringify(authType)}, which authctl does not know`, {
    hint: `use one of: ${[...AUTH_TYPES].join(', ')}`,
  });
}

function notFound(name: string, main: YamlFile, secure: YamlFile | undefined): UsageError {
  const names = unique([...Object.keys(cloudsOf(main)), ...(secure ? Object.keys(cloudsOf(secure)) : [])]);
  const where = secure ? `${main.path} (nor in ${secure.path})` : main.path;
  return new UsageError(`cloud ${JSON.stringify(name)} is not in ${where}`, {
    hint: names.length
      ? `clouds there: ${names.slice(0, 8).map((n) => JSON.stringify(n)).join(', ')}${names.length > 8 ? `, and ${names.length - 8} more` : ''}`
      : `that file defines no clouds: add one under "clouds:", or point OS_CLIENT_CONFIG_FILE at another file`,
  });
}

function toSettings(raw: RawCloud): KeystoneSettings {
  const settings: KeystoneSettings = {};
  for (const key of Object.keys(AUTH_KEYS) as AuthKey[]) {
    const value = raw.auth[key];
    if (value !== undefined) (settings as Record<string, string>)[AUTH_KEYS[key]!] = value;
  }
  if (raw.region !== undefined) settings.region = raw.region;
  if (raw.vendor !== undefined) settings.vendor = raw.vendor;
  return settings;
}


function isProjectScoped(settings: KeystoneSettings): boolean {
  return settings.projectId !== undefined || settings.project !== undefined;
}

function toEntry(name: string, raw: RawCloud): CloudEntry {
  const settings = toSettings(raw);
  return withoutUndefined({
    name,
    source: raw.path,
    settings: isProjectScoped(settings) ? domainAsDefaults(settings) : settings,
    password: raw.password,
    secrets: raw.secrets,
    authType: raw.authType,
    cacert: raw.cacert,
    verify: raw.verify,
  });
}

/**
 * The named cloud from the first existing file of `candidates`, with the first existing
 * `secure.*` of `secureCandidates` (default: beside each candidate) merged over it.
 */
export function loadCloud(name: string, files: CloudFiles, candidates: string[], secureCandidates: string[] = secureBeside(candidates)): CloudEntry {
  checkText(name, 'the cloud name');
  const main = firstFile(files, candidates);
  if (!main) {
    throw new UsageError(`cloud ${JSON.stringify(name)} was asked for, but no clouds.yaml exists`, {
      hint: `looked for ${candidates.join(', ')}; create one there, or set OS_CLIENT_CONFIG_FILE to its path`,
    });
  }
  const secure = firstFile(files, secureCandidates);
  const base = readEntry(main, name);
  const secret = secure ? readEntry(secure, name) : undefined;
  const merged = merge(base, secret);
  if (!merged) throw notFound(name, main, secure);
  checkAuthType(name, base, secret);
  return toEntry(name, { ...merged, path: main.path });
}
