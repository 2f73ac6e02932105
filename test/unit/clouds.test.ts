import { describe, expect, it } from 'vitest';
import { cloudsYamlCandidates, loadCloud, MAX_CLOUDS_YAML_ALIASES, MAX_CLOUDS_YAML_COST, secureYamlCandidates, type CloudFiles } from '../../src/auth/clouds-yaml.js';
import { domainAsDefaults, plainLayers, resolveKeystone } from '../../src/auth/keystone-identity.js';
import { cloudsAuthTypes } from '../../src/auth/registry.js';
import { ExitCode, exitCodeFor } from '../../src/cli/exit.js';
import { AuthctlError } from '../../src/core/errors.js';

const CWD = '/work/proj';
const HOME = '/home/alice';
const USER_DIR = '/home/alice/.config/openstack';

function memory(files: Record<string, string>): CloudFiles {
  const map = new Map(Object.entries(files));
  return { readFile: (path) => map.get(path) };
}

function load(name: string, files: Record<string, string>, env: Record<string, string | undefined> = {}) {
  return loadCloud(name, memory(files), cloudsYamlCandidates(env, CWD, HOME), secureYamlCandidates(env, CWD, HOME));
}

/** The error `run` throws, as the user sees it. */
function failure(run: () => unknown): { message: string; hint: string | undefined; exitCode: number } {
  try {
    run();
  } catch (error) {
    if (!(error instanceof AuthctlError)) throw error;
    return { message: error.message, hint: error.hint, exitCode: exitCodeFor(error) };
  }
  throw new Error('expected an error');
}

const PROD = `
clouds:
  prod:
    auth:
      auth_url: https://iam.example.com/v3
      username: alice
      user_domain_name: Fiware
`;

describe('where clouds.yaml is looked for', () => {
  const inDir = (dir: string, base = 'clouds') => ['.yaml', '.yml', '.json'].map((ext) => `${dir}/${base}${ext}`);

  it('follows openstacksdk: the current directory, the user config directory, the site directories', () => {
    expect(cloudsYamlCandidates({}, CWD, HOME)).toEqual([...inDir(CWD), ...inDir(USER_DIR), ...inDir('/etc/xdg/openstack'), ...inDir('/etc/openstack')]);
  });

  it('puts OS_CLIENT_CONFIG_FILE first, relative to the current directory, and ignores it when empty', () => {
    expect(cloudsYamlCandidates({ OS_CLIENT_CONFIG_FILE: 'conf/my.yaml' }, CWD, HOME)[0]).toBe('/work/proj/conf/my.yaml');
    expect(cloudsYamlCandidates({ OS_CLIENT_CONFIG_FILE: '/srv/c.yaml' }, CWD, HOME)[0]).toBe('/srv/c.yaml');
    expect(cloudsYamlCandidates({ OS_CLIENT_CONFIG_FILE: '' }, CWD, HOME)).toEqual(cloudsYamlCandidates({}, CWD, HOME));
  });

  it('honours XDG_CONFIG_HOME and XDG_CONFIG_DIRS as platformdirs does', () => {
    const list = cloudsYamlCandidates({ XDG_CONFIG_HOME: '/cfg', XDG_CONFIG_DIRS: '/site1:/site2' }, CWD, HOME);
    expect(list).toEqual([
      ...inDir(CWD),
      ...inDir('/cfg/openstack'),
      ...inDir(USER_DIR),
      ...inDir('/site1/openstack'),
      ...inDir('/site2/openstack'),
      ...inDir('/etc/openstack'),
    ]);
  });

  it('looks for secure.yaml in the same directories, after OS_CLIENT_SECURE_FILE', () => {
    expect(secureYamlCandidates({}, CWD, HOME)).toEqual([...inDir(CWD, 'secure'), ...inDir(USER_DIR, 'secure'), ...inDir('/etc/xdg/openstack', 'secure'), ...inDir('/etc/openstack', 'secure')]);
    expect(secureYamlCandidates({ OS_CLIENT_SECURE_FILE: '/run/s.yaml', OS_CLIENT_CONFIG_FILE: '/srv/c.yaml' }, CWD, HOME)[0]).toBe('/run/s.yaml');
    expect(secureYamlCandidates({ OS_CLIENT_CONFIG_FILE: '/srv/c.yaml' }, CWD, HOME)).toEqual(secureYamlCandidates({}, CWD, HOME));
  });

  const cloud = (user: string) => `clouds:\n  prod:\n    auth:\n      username: ${user}\n`;
  it.each([
    ['OS_CLIENT_CONFIG_FILE over the current directory', { '/srv/c.yaml': cloud('override'), [`${CWD}/clouds.yaml`]: cloud('cwd') }, 'override'],
    ['the current directory over the user directory', { [`${CWD}/clouds.yaml`]: cloud('cwd'), [`${USER_DIR}/clouds.yaml`]: cloud('user') }, 'cwd'],
    ['the user directory over /etc/openstack', { [`${USER_DIR}/clouds.yaml`]: cloud('user'), '/etc/openstack/clouds.yaml': cloud('site') }, 'user'],
    ['clouds.yaml over clouds.yml in one directory', { [`${USER_DIR}/clouds.yml`]: cloud('yml'), [`${USER_DIR}/clouds.yaml`]: cloud('yaml') }, 'yaml'],
    ['a clouds.json when it is the only file', { '/etc/openstack/clouds.json': '{"clouds": {"prod": {"auth": {"username": "json"}}}}' }, 'json'],
  ])('uses the first file that exists: %s', (_, files, username) => {
    const entry = load('prod', files, { OS_CLIENT_CONFIG_FILE: '/srv/c.yaml' });
    expect(entry.settings.username).toBe(username);
  });

  it('reports where the entry was found', () => {
    expect(load('prod', { [`${USER_DIR}/clouds.yaml`]: PROD }).source).toBe(`${USER_DIR}/clouds.yaml`);
  });

  it('never merges two clouds.yaml files: a cloud only in the later one is not found', () => {
    const files = { [`${CWD}/clouds.yaml`]: cloud('cwd'), [`${USER_DIR}/clouds.yaml`]: 'clouds:\n  other:\n    auth: {username: x}\n' };
    expect(failure(() => load('other', files)).message).toBe(`cloud "other" is not in ${CWD}/clouds.yaml`);
  });
});

describe('secure.yaml', () => {
  it('adds a password kept only in secure.yaml', () => {
    const entry = load('prod', { [`${USER_DIR}/clouds.yaml`]: PROD, [`${USER_DIR}/secure.yaml`]: 'clouds:\n  prod:\n    auth:\n      password: "s3cret"\n' });
    expect(entry.password).toBe('s3cret');
    expect(entry.settings).toEqual({ authUrl: 'https://iam.example.com/v3', username: 'alice', userDomain: 'Fiware' });
  });

  it('wins over clouds.yaml key by key, keeping the rest of auth', () => {
    const secure = 'clouds:\n  prod:\n    auth:\n      username: bob\n      password: pw\n    region_name: Secure\n';
    const entry = load('prod', { [`${USER_DIR}/clouds.yaml`]: `${PROD}    region_name: Plain\n`, [`${USER_DIR}/secure.yaml`]: secure });
    expect(entry.settings).toEqual({ authUrl: 'https://iam.example.com/v3', username: 'bob', userDomain: 'Fiware', region: 'Secure' });
  });

  it('is found in any search directory, as openstacksdk searches for it independently', () => {
    const entry = load('prod', { [`${CWD}/clouds.yaml`]: PROD, '/etc/openstack/secure.yaml': 'clouds: {prod: {auth: {password: pw}}}' });
    expect(entry.password).toBe('pw');
  });

  it('comes from OS_CLIENT_SECURE_FILE first', () => {
    const files = { [`${USER_DIR}/clouds.yaml`]: PROD, [`${USER_DIR}/secure.yaml`]: 'clouds: {prod: {auth: {password: dir}}}', '/run/s.yaml': 'clouds: {prod: {auth: {password: env}}}' };
    expect(load('prod', files, { OS_CLIENT_SECURE_FILE: '/run/s.yaml' }).password).toBe('env');
  });

  it('is looked for beside each candidate when no secure list is given', () => {
    const files = memory({ '/srv/clouds.yaml': PROD, '/srv/secure.yaml': 'clouds: {prod: {auth: {password: beside}}}' });
    expect(loadCloud('prod', files, ['/srv/clouds.yaml']).password).toBe('beside');
  });

  it('may hold a whole cloud; the source is still clouds.yaml', () => {
    const entry = load('extra', { [`${USER_DIR}/clouds.yaml`]: PROD, [`${USER_DIR}/secure.yaml`]: 'clouds: {extra: {auth: {username: eve, password: pw}}}' });
    expect(entry).toEqual({ name: 'extra', source: `${USER_DIR}/clouds.yaml`, settings: { username: 'eve' }, password: 'pw', secrets: { password: 'pw' } });
  });
});

describe('what an entry means', () => {
  const ALL = `
clouds:
  all:
    auth:
      auth_url: https://iam.example.com/v3
      username: alice
      user_id: u-1
      password: pw
      user_domain_name: UserDom
      user_domain_id: ud-1
      project_name: proj
      project_id: p-1
      project_domain_name: ProjDom
      project_domain_id: pd-1
    region_name: RegionOne
    cacert: /etc/ssl/iam.pem
    verify: true
  domain-scoped:
    auth:
      username: alice
      user_domain_name: UserDom
      domain_name: Dom
      domain_id: d-1
`;
  const files = { [`${USER_DIR}/clouds.yaml`]: ALL };

  it('maps every key to its setting', () => {
    expect(load('all', files)).toEqual({
      name: 'all',
      source: `${USER_DIR}/clouds.yaml`,
      settings: {
        authUrl: 'https://iam.example.com/v3',
        username: 'alice',
        userId: 'u-1',
        userDomain: 'UserDom',
        userDomainId: 'ud-1',
        project: 'proj',
        projectId: 'p-1',
        projectDomain: 'ProjDom',
        projectDomainId: 'pd-1',
        region: 'RegionOne',
      },
      password: 'pw',
      secrets: { password: 'pw' },
      cacert: '/etc/ssl/iam.pem',
      verify: true,
    });
  });

  it('keeps domain_name / domain_id as the domain scope when no project is named', () => {
    expect(load('domain-scoped', files).settings).toEqual({ username: 'alice', userDomain: 'UserDom', domain: 'Dom', domainId: 'd-1' });
  });

  it("with a project, uses domain_* as the default user and project domain, like openstacksdk's _handle_domain_id", () => {
    const yaml = 'clouds:\n  c:\n    auth: {username: a, user_domain_name: Mine, project_name: p, domain_name: Fiware, domain_id: d-1}\n';
    expect(load('c', { [`${CWD}/clouds.yaml`]: yaml }).settings).toEqual({
      username: 'a',
      userDomain: 'Mine',
      userDomainId: 'd-1',
      project: 'p',
      projectDomain: 'Fiware',
      projectDomainId: 'd-1',
    });
  });

  it('offers the same rule for a project named by a higher layer', () => {
    expect(domainAsDefaults({ username: 'a', domain: 'Fiware' })).toEqual({ username: 'a', userDomain: 'Fiware', projectDomain: 'Fiware' });
  });

  it('reads FIWARE names as they are, and resolves them to a project-scoped login', () => {
    const yaml = 'clouds:\n  fiware:\n    auth:\n      auth_url: https://iam.example.com/v3\n      username: alice\n      user_domain_name: Fiware\n      project_name: /smartcity\n';
    const entry = load('fiware', { [`${CWD}/clouds.yaml`]: yaml });
    expect(entry.settings).toEqual({ authUrl: 'https://iam.example.com/v3', username: 'alice', userDomain: 'Fiware', project: '/smartcity' });
    expect(resolveKeystone(plainLayers([{}, entry.settings])).target?.scope).toEqual({ kind: 'project', name: '/smartcity', domain: { name: 'Fiware' } });
  });

  it('keeps numbers as written: numeric ids, leading zeros, long digit strings, a numeric password', () => {
    const yaml = 'clouds:\n  n:\n    auth:\n      project_id: 12345\n      user_id: 0123\n      user_domain_id: 123456789012345678901234567890\n      password: 1234\n    region_name: 1.50\n';
    const entry = load('n', { [`${CWD}/clouds.yaml`]: yaml });
    expect(entry.settings).toEqual({ projectId: '12345', userId: '0123', userDomainId: '123456789012345678901234567890', region: '1.50' });
    expect(entry.password).toBe('1234');
  });

  it('resolves a relative cacert against the directory of clouds.yaml', () => {
    const yaml = 'clouds:\n  c:\n    cacert: certs/ca.pem\n    verify: false\n';
    const entry = load('c', { [`${USER_DIR}/clouds.yaml`]: yaml });
    expect(entry.cacert).toBe(`${USER_DIR}/certs/ca.pem`);
    expect(entry.verify).toBe(false);
  });

  it('treats null and empty values as absent', () => {
    const entry = load('c', { [`${CWD}/clouds.yaml`]: "clouds:\n  c:\n    auth:\n      username: ''\n      user_id: ~\n      password:\n    verify: null\n" });
    expect(entry).toEqual({ name: 'c', source: `${CWD}/clouds.yaml`, settings: {}, secrets: {} });
  });

  it('accepts password auth types, YAML merge keys, and lets a repeated key win as PyYAML does', () => {
    const yaml = 'base: &base\n  auth_url: https://iam.example.com/v3\nclouds:\n  a:\n    auth_type: password\n    auth:\n      <<: *base\n      username: first\n      username: second\n  b:\n    auth_type: v3password\n';
    expect(load('a', { [`${CWD}/clouds.yaml`]: yaml }).settings).toEqual({ authUrl: 'https://iam.example.com/v3', username: 'second' });
    expect(load('b', { [`${CWD}/clouds.yaml`]: yaml }).settings).toEqual({});
  });
});

describe('errors', () => {
  const at = (text: string) => ({ [`${CWD}/clouds.yaml`]: text });
  const FILE = `${CWD}/clouds.yaml`;

  it('names the clouds that exist when the cloud is not found', () => {
    const err = failure(() => load('prod', at('clouds:\n  dev: {}\n  staging: {}\n')));
    expect(err).toEqual({ message: `cloud "prod" is not in ${FILE}`, hint: 'clouds there: "dev", "staging"', exitCode: ExitCode.Usage });
  });

  it('names secure.yaml too when there is one', () => {
    const files = { ...at('clouds:\n  dev: {}\n'), [`${USER_DIR}/secure.yaml`]: 'clouds:\n  extra: {}\n' };
    expect(failure(() => load('prod', files))).toMatchObject({
      message: `cloud "prod" is not in ${FILE} (nor in ${USER_DIR}/secure.yaml)`,
      hint: 'clouds there: "dev", "extra"',
    });
  });

  it.each(['', '# nothing yet\n', 'other: 1\n'])('says when the file defines no clouds (%j)', (text) => {
    expect(failure(() => load('prod', at(text)))).toMatchObject({
      message: `cloud "prod" is not in ${FILE}`,
      hint: 'that file defines no clouds: add one under "clouds:", or point OS_CLIENT_CONFIG_FILE at another file',
    });
  });

  it.each(['constructor', '__proto__', 'toString'])('does not find %s through the object prototype', (name) => {
    expect(failure(() => load(name, at(PROD))).message).toBe(`cloud ${JSON.stringify(name)} is not in ${FILE}`);
  });

  it('lists the paths searched when there is no clouds.yaml anywhere', () => {
    const candidates = cloudsYamlCandidates({}, CWD, HOME);
    const err = failure(() => load('prod', {}));
    expect(err.message).toBe('cloud "prod" was asked for, but no clouds.yaml exists');
    expect(err.hint).toBe(`looked for ${candidates.join(', ')}; create one there, or set OS_CLIENT_CONFIG_FILE to its path`);
    expect(err.hint).toContain('/etc/openstack/clouds.yaml');
    expect(err.exitCode).toBe(ExitCode.Usage);
  });

  it.each([
    ['clouds:\n  prod:\n    auth:\n      username: "unterminated\n', 'a closing quote, bracket or separator is missing at line 5, column 1', 5],
    ['clouds:\n\tprod: {}\n', 'a tab used for indentation at line 2, column 1', 2],
    ['clouds: [a\n', 'bad indentation at line 2, column 1', 2],
  ])('names the file and the line of a YAML syntax error (%#)', (text, problem, line) => {
    expect(failure(() => load('prod', at(text)))).toEqual({ message: `${FILE} is not valid YAML: ${problem}`, hint: `fix line ${line} of ${FILE}`, exitCode: ExitCode.Usage });
  });

  it('never quotes secure.yaml in a syntax error', () => {
    const files = { ...at(PROD), [`${USER_DIR}/secure.yaml`]: 'clouds:\n  prod:\n    auth:\n      password: "hunter2\\q"\n' };
    const err = failure(() => load('prod', files));
    expect(err.message).toBe(`${USER_DIR}/secure.yaml is not valid YAML: an invalid escape sequence in a "double-quoted" value at line 4, column 25`);
    expect(`${err.message} ${err.hint}`).not.toMatch(/hunter2|\\q/);
  });

  it.each([
    ['- a list\n', 'the file must be a mapping with a "clouds:" key, not a list'],
    ['clouds: [prod]\n', 'clouds must be a mapping, not a list'],
    ['clouds:\n  prod:\n', 'clouds.prod must be a mapping, not empty'],
    ['clouds:\n  prod: just text\n', 'clouds.prod must be a mapping, not text'],
    ['clouds:\n  prod:\n    auth: alice\n', 'clouds.prod.auth must be a mapping, not text'],
    ['clouds:\n  prod:\n    auth: [alice]\n', 'clouds.prod.auth must be a mapping, not a list'],
    ['clouds:\n  prod:\n    verify: "false"\n', 'clouds.prod.verify must be true or false, not text'],
    ['clouds:\n  prod:\n    verify: no\n', 'clouds.prod.verify must be true or false, not text'],
    ['clouds:\n  prod:\n    auth: {username: [a, b]}\n', 'clouds.prod.auth.username must be text, not a list'],
    ['clouds:\n  prod:\n    auth: {project_name: true}\n', 'clouds.prod.auth.project_name must be text, not true'],
    ['clouds:\n  prod:\n    region_name: {a: 1}\n', 'clouds.prod.region_name must be text, not a mapping'],
    ['clouds:\n  prod:\n    cacert: false\n', 'clouds.prod.cacert must be text, not false'],
  ])('names the file and the key of a value of the wrong type (%#)', (text, problem) => {
    expect(failure(() => load('prod', at(text)))).toMatchObject({ message: `${FILE}: ${problem}`, exitCode: ExitCode.Usage });
  });

  it('gives a hint fitting the type expected', () => {
    expect(failure(() => load('prod', at('clouds:\n  prod:\n    auth: alice\n'))).hint).toBe('write it as "auth:" followed by indented "key: value" lines');
    expect(failure(() => load('prod', at('clouds:\n  prod:\n    verify: "no"\n'))).hint).toBe('write verify: true or verify: false, without quotes');
    expect(failure(() => load('prod', at('clouds:\n  prod:\n    auth: {username: [a]}\n'))).hint).toBe('write it as username: "..."');
  });

  it('names secure.yaml when the wrong type is there, without the value', () => {
    const files = { ...at(PROD), [`${USER_DIR}/secure.yaml`]: 'clouds:\n  prod:\n    auth:\n      password: [hunter2]\n' };
    const err = failure(() => load('prod', files));
    expect(err.message).toBe(`${USER_DIR}/secure.yaml: clouds.prod.auth.password must be text, not a list`);
    expect(`${err.message} ${err.hint}`).not.toContain('hunter2');
  });

  it.each([
    ['auth_type: v2password', 'has auth_type "v2password"'],
    ['auth_plugin: v3samlpassword', 'has auth_type "v3samlpassword"'],
  ])('refuses an entry of an auth type authctl does not know: %s', (line, what) => {
    expect(failure(() => load('prod', at(`clouds:\n  prod:\n    ${line}\n`)))).toEqual({
      message: `${FILE}: cloud "prod" ${what}, which authctl does not know`,
      hint: `use one of: ${cloudsAuthTypes().join(', ')}`,
      exitCode: ExitCode.Usage,
    });
  });

  it('reads an application-credential entry with its secret from secure.yaml', () => {
    const files = {
      ...at('clouds:\n  ci:\n    auth_type: v3applicationcredential\n    auth:\n      auth_url: https://iam.example.com/v3\n      application_credential_id: ac-1\n'),
      [`${USER_DIR}/secure.yaml`]: 'clouds:\n  ci:\n    auth:\n      application_credential_secret: s3cret\n',
    };
    expect(load('ci', files)).toMatchObject({ authType: 'v3applicationcredential', settings: { authUrl: 'https://iam.example.com/v3', applicationCredentialId: 'ac-1' }, secrets: { application_credential_secret: 's3cret' } });
  });

  it('lets secure.yaml decide the auth type, and names the file it came from', () => {
    const files = { ...at('clouds:\n  prod:\n    auth_type: password\n'), [`${USER_DIR}/secure.yaml`]: 'clouds:\n  prod:\n    auth_type: v3samlpassword\n' };
    expect(failure(() => load('prod', files)).message).toBe(`${USER_DIR}/secure.yaml: cloud "prod" has auth_type "v3samlpassword", which authctl does not know`);
  });

  it('reads a token entry (auth_type: token) with the token as a secret, never as a setting', () => {
    const entry = load('prod', at('clouds:\n  prod:\n    auth_type: token\n    auth: {auth_url: "https://iam.example.com/v3", token: abc123}\n'));
    expect(entry).toMatchObject({ authType: 'token', settings: { authUrl: 'https://iam.example.com/v3' }, secrets: { token: 'abc123' } });
    expect(JSON.stringify(entry.settings)).not.toContain('abc123');
  });

  it('refuses control characters in names, as for flags and variables', () => {
    expect(failure(() => load('prod', at('clouds:\n  prod:\n    auth: {username: "al\\nice"}\n'))).message).toBe(
      `clouds.prod.auth.username in ${FILE} contains a control character (a line break, tab, NUL...)`,
    );
    expect(failure(() => load('pr\nod', at(PROD))).message).toBe('the cloud name contains a control character (a line break, tab, NUL...)');
  });
});

describe('large files', () => {
  const at = (text: string) => ({ [`${CWD}/clouds.yaml`]: text });
  const FILE = `${CWD}/clouds.yaml`;
  /** A typical entry: about 80 YAML tokens, 330 bytes. */
  const entry = (i: number) =>
    `  project-${i}:\n    auth_type: password\n    auth:\n      auth_url: https://iam.eu-west-0.example.com/v3\n      username: deploy-bot\n` +
    `      user_domain_name: Fiware\n      project_name: /smartcity/tenant-${i}\n      project_domain_name: Fiware\n` +
    `    region_name: eu-west-0\n    interface: public\n    identity_api_version: 3\n`;
  const many = (count: number) => `clouds:\n${Array.from({ length: count }, (_, i) => entry(i)).join('')}`;
  const TOO_LARGE = {
    message: `${FILE} is too large for a clouds.yaml: more than ${MAX_CLOUDS_YAML_COST.toLocaleString('en')} YAML tokens (authctl reads about 3,500 typical cloud entries)`,
    hint: 'keep the clouds you use in a smaller file, and point OS_CLIENT_CONFIG_FILE (or OS_CLIENT_SECURE_FILE) at it',
    exitCode: ExitCode.Usage,
  };
  const ALIASES = { message: `${FILE} is not valid YAML: too many or broken aliases`, hint: `fix the anchors and aliases (& and *) in ${FILE}`, exitCode: ExitCode.Usage };

  it('reads a file of 3,000 typical entries, and names a handful when the cloud is not there', () => {
    const text = many(3000);
    expect(load('project-2999', at(text))).toMatchObject({ authType: 'password', settings: { username: 'deploy-bot', project: '/smartcity/tenant-2999', region: 'eu-west-0' } });
    const missing = failure(() => load('missing', at(text)));
    expect(missing.message).toBe(`cloud "missing" is not in ${FILE}`);
    expect(missing.hint).toBe(`clouds there: ${Array.from({ length: 8 }, (_, i) => `"project-${i}"`).join(', ')}, and 2992 more`);
  });

  it('refuses a file of 250,000 clouds by its token count, before building it', () => {
    const text = `clouds:\n${Array.from({ length: 250_000 }, (_, i) => `  c${i}: {}\n`).join('')}`;
    expect(failure(() => load('missing', at(text)))).toEqual(TOO_LARGE);
    expect(failure(() => load('c1', at(text)))).toEqual(TOO_LARGE);
  });

  it('refuses a file just over the limit, as secure.yaml too', () => {
    const over = many(4000);
    expect(failure(() => load('project-1', at(over)))).toEqual(TOO_LARGE);
    const secure = `${USER_DIR}/secure.yaml`;
    expect(failure(() => load('prod', { ...at(PROD), [secure]: over }))).toMatchObject({ message: TOO_LARGE.message.replace(FILE, secure), hint: TOO_LARGE.hint });
  });

  it('counts what costs more than its tokens: lines of a block value, long quoted values, escapes', () => {
    const lines = `clouds:\n  prod: {}\nnote: |\n${'  x\n'.repeat(MAX_CLOUDS_YAML_COST)}`;
    expect(failure(() => load('prod', at(lines)))).toEqual(TOO_LARGE);
    // Each invalid escape would be an error object of its own: 300,000 of them from one value.
    const escapes = `clouds:\n  prod: {}\nnote: "${'\\q'.repeat(MAX_CLOUDS_YAML_COST)}"\n`;
    expect(failure(() => load('prod', at(escapes)))).toEqual(TOO_LARGE);
    const quoted = `clouds:\n  prod: {}\nnote: "${'a'.repeat(16 * MAX_CLOUDS_YAML_COST)}"\n`;
    expect(failure(() => load('prod', at(quoted)))).toEqual(TOO_LARGE);
    // A long value in itself is fine: a PKI token is several KB.
    expect(load('prod', at(`clouds:\n  prod:\n    auth_type: token\n    auth: {token: "${'a'.repeat(64 * 1024)}"}\n`)).secrets.token).toHaveLength(64 * 1024);
  });

  it('refuses more aliases than a clouds.yaml has any use for', () => {
    const anchors = Array.from({ length: 6 }, (_, i) => `d${i}: &d${i} {region_name: r${i}}\n`).join('');
    const clouds = (count: number) => `${anchors}clouds:\n${Array.from({ length: count }, (_, i) => `  c${i}: {<<: *d${i % 6}}\n`).join('')}`;
    expect(load('c7', at(clouds(MAX_CLOUDS_YAML_ALIASES))).settings).toEqual({ region: 'r1' });
    expect(failure(() => load('c7', at(clouds(MAX_CLOUDS_YAML_ALIASES + 1))))).toEqual(ALIASES);
  });

  it('refuses merges that would copy a large mapping many times', () => {
    const base = `base: &base {${Array.from({ length: 6000 }, (_, i) => `k${i}: v`).join(', ')}}\n`;
    const text = `${base}clouds:\n${Array.from({ length: 99 }, (_, i) => `  c${i}: {<<: *base, region_name: r}\n`).join('')}`;
    expect(failure(() => load('c1', at(text)))).toEqual(ALIASES);
    // The same mapping merged a few times is fine.
    expect(load('c1', at(`${base}clouds:\n  c1: {<<: *base, region_name: r}\n  c2: {<<: *base}\n`)).settings).toEqual({ region: 'r' });
  });

  it('still refuses alias bombs', () => {
    const bomb = ['a: &a [x, x, x, x, x, x, x, x, x, x]', ...Array.from({ length: 8 }, (_, i) => `${'bcdefghi'[i]}: &${'bcdefghi'[i]} [${Array(10).fill(`*${'abcdefgh'[i]}`).join(', ')}]`), 'clouds: {prod: {}}'].join('\n');
    expect(failure(() => load('prod', at(bomb)))).toEqual(ALIASES);
  });
});
