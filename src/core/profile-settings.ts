/**
 * A profile's non-secret settings, as `authctl login` saves them in the config file. Secrets
 * live in the secret store. `kind` names the auth method (`src/auth/registry.ts`).
 */
export interface ProfileSettings {
  kind?: string;
  authUrl?: string;
  username?: string;
  userId?: string;
  userDomain?: string;
  userDomainId?: string;
  projectId?: string;
  project?: string;
  projectDomain?: string;
  projectDomainId?: string;
  domain?: string;
  domainId?: string;
  unscoped?: boolean;
  trustId?: string;
  systemScope?: string;
  applicationCredentialId?: string;
  applicationCredentialName?: string;
  /** v3multifactor: the methods combined in one request, e.g. `v3password,v3totp`. */
  authMethods?: string;
  /** OAuth2: how the client authenticates at the token endpoint (`basic` or `post`). */
  clientAuth?: string;
  scope?: string;
  audience?: string;
  oauth2Endpoint?: string;
  oauth2ClientId?: string;
  /** Plain http:// to a non-loopback host was allowed at login. */
  allowHttp?: boolean;
  /** A CA file (absolute path) to trust for this profile's IAM, given at login. */
  cacert?: string;
  /** TLS verification was turned off at login (--insecure): warned about on every request. */
  insecure?: boolean;
  region?: string;
  /** The user id IAM named at the last login of a user given by name (virtual MFA needs it). */
  knownUserId?: string;
  /** Agencies (OTC, Huawei Cloud): the agency, the account that created it, the profile whose token signs, the delegated project. */
  agency?: string;
  agencyDomain?: string;
  agencyDomainId?: string;
  sourceProfile?: string;
  delegatedProject?: string;
  /** OIDC ID token (OTC, Huawei Cloud): the file holding the ID token (absolute path; never its content), and the identity provider's id. */
  idTokenFile?: string;
  idpId?: string;
  /** A cloud whose IAM URL follows from the region (`otc`, `otc-swiss`, `huaweicloud`). */
  vendor?: string;
  /** OpenID Connect: the provider's issuer, and the grant chosen with --grant. */
  oidcIssuer?: string;
  /** Keystone federation (v3oidc*): the identity provider, its protocol, the provider's discovery endpoint. */
  identityProvider?: string;
  protocol?: string;
  discoveryEndpoint?: string;
  accessTokenEndpoint?: string;
  deviceAuthorizationEndpoint?: string;
  grant?: string;
  tokenUrl?: string;
  clientId?: string;
  store?: 'keychain' | 'file';
}

/** What the config file may hold in a profile: derived from the settings table, checked on every read. */
export interface ProfileSchema {
  kinds: readonly string[];
  strings: readonly (keyof ProfileSettings)[];
  booleans: readonly (keyof ProfileSettings)[];
  choices: { readonly [key in keyof ProfileSettings]?: readonly string[] };
}
