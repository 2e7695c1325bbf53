/**
 * The Salesforce client's errors as the connector's three failure kinds (config / transient /
 * system, errors.ts), each with a message that says what to do, in the words of the README's
 * troubleshooting section. The client itself knows nothing of Airbyte; this is where its errors
 * meet the user.
 */
import type { Credentials } from './config.js';
import { ConfigError, ConnectorError, SystemError, TransientError } from './errors.js';
import {
  InsecureUrlError,
  NetworkError,
  OAuthError,
  PROXY_REFUSED,
  RateLimitError,
  RedirectError,
  SalesforceApiError,
  TLS_CERTIFICATE_CODES,
  UnknownOutcomeError,
} from './salesforce/errors.js';

/** The grant_type of the JWT bearer flow, as the token manager names it in an OAuthError. */
const JWT_GRANT = 'urn:ietf:params:oauth:grant-type:jwt-bearer';

/** What a JWT bearer sign-in needs that Salesforce's "invalid assertion" does not single out. */
const JWT_CHECKLIST =
  'Check that the certificate uploaded to the connected app is the one that matches private_key, that username is the exact Salesforce username (with the sandbox suffix in a sandbox), that client_id is the Consumer Key of that same app, and that the user is pre-authorized for it (Permitted Users "Admin approved users are pre-authorized", with the user\'s profile or permission set assigned).';

/**
 * What to do about each token-endpoint error (reference §1.2 table). `credentials`, when known,
 * tells what the answer cannot (an empty client secret); messages name fields, never their values.
 */
function oauthAdvice(error: OAuthError, credentials?: Credentials): string {
  const d = error.description.toLowerCase();
  const jwt = error.grantType === JWT_GRANT || credentials?.authType === 'jwt_bearer';
  if (error.error === 'invalid_private_key') {
    return `The JWT private key cannot be used (${error.description}). Paste the PEM private key whose certificate is uploaded to the connected app.`;
  }
  if (error.error === 'invalid_grant') {
    if (d.includes('expired access/refresh token')) {
      return 'Salesforce refused the refresh token (invalid_grant: expired access/refresh token): it was revoked, expired by policy, or replaced by a newer grant. Reconnect: run the login command, or re-authenticate this destination in Airbyte, to get a new refresh token.';
    }
    if (d.includes('authentication failure')) {
      return 'Salesforce refused the sign-in (invalid_grant: authentication failure): the user may be deactivated, locked or have a changed password. Reconnect with an active user.';
    }
    if (d.includes("hasn't approved") || d.includes('not approved')) {
      return "Salesforce says the user hasn't approved this app (JWT bearer). In the connected app's policies set Permitted Users to \"Admin approved users are pre-authorized\" and assign the user's profile or permission set.";
    }
    if (d.includes('audience')) {
      return 'Salesforce rejected the JWT audience: set is_sandbox to true for sandboxes (aud https://test.salesforce.com) or false for production.';
    }
    if (d.includes('not supported on this domain')) {
      return 'The client credentials flow does not run on login.salesforce.com or test.salesforce.com: set login_url to your My Domain (https://mycompany.my.salesforce.com).';
    }
    if (d.includes('client credentials user')) {
      return 'The connected app has no Run As user for the client credentials flow: set one under "Client Credentials Flow" in the app\'s policies.';
    }
    if (jwt) {
      // The login command only makes refresh tokens: no use to a JWT bearer config.
      return `Salesforce refused the JWT bearer sign-in (invalid_grant: ${error.description}). ${JWT_CHECKLIST}`;
    }
    if (credentials?.authType === 'client_credentials') {
      return `Salesforce refused the client credentials sign-in (invalid_grant: ${error.description}). Check that the connected app enables the client credentials flow with an active Run As user, and that login_url is your My Domain.`;
    }
    return `Salesforce refused the sign-in (invalid_grant: ${error.description}). Reconnect: get a new refresh token with the login command, or re-authenticate this destination in Airbyte.`;
  }
  if (error.error === 'invalid_client_id') {
    return 'Salesforce does not know this client_id (invalid_client_id). Copy the Consumer Key of the connected app exactly; a new app can take up to 10 minutes to become usable.';
  }
  if (error.error === 'invalid_client') {
    if (credentials !== undefined && credentials.authType !== 'jwt_bearer' && !credentials.clientSecret) {
      return credentials.authType === 'client_credentials'
        ? 'Salesforce refused the client credentials (invalid_client): client_secret is empty. The client credentials flow needs the Consumer Secret of the connected app: paste it into client_secret.'
        : 'Salesforce refused the client (invalid_client): client_secret is empty, and this connected app requires its secret for the refresh-token flow. Paste the Consumer Secret of the app into client_secret (or, if the app is meant to work without one, turn off "Require Secret for Refresh Token Flow" in its OAuth settings).';
    }
    return 'Salesforce refused the client_id / client_secret pair (invalid_client). Copy the Consumer Key and Consumer Secret of the connected app again.';
  }
  return `Salesforce's token endpoint refused the request (${error.error}: ${error.description}). Check the credentials and the login host, then reconnect.`;
}

/** The host of a URL, if it is one (URL.parse needs Node 20.18). */
function hostOf(url: string | undefined): string | undefined {
  if (url === undefined) return undefined;
  try {
    return new URL(url).host;
  } catch {
    return undefined;
  }
}

/**
 * Maps any error from the Salesforce client to a ConnectorError. Errors that already are
 * ConnectorErrors pass through. `loginUrl` names the host of a failed sign-in; `credentials` lets a
 * token-endpoint refusal say what in the config is missing (connect() passes both).
 */
export function toConnectorError(
  error: unknown,
  loginUrl?: string,
  credentials?: Credentials,
): ConnectorError {
  if (error instanceof ConnectorError) return error;
  if (error instanceof OAuthError) {
    return new ConfigError(oauthAdvice(error, credentials), { internalMessage: error.message, cause: error });
  }
  if (error instanceof RedirectError) {
    const signIn = error.context.path.startsWith('/services/oauth2');
    return new ConfigError(
      `${error.context.host} answered ${error.context.method} ${error.context.path} with a redirect (HTTP ${error.status}) to ${error.location}. The connector follows no redirect, so that ${signIn ? 'the sign-in credentials go' : 'the access token goes'} only to the host you configured. ${signIn ? 'Set login_url to the exact https address of your login host (for a My Domain, Setup > My Domain shows it)' : 'Check instance_url and the login host'}, and check any proxy between the connector and Salesforce.`,
      { internalMessage: error.message, cause: error },
    );
  }
  if (error instanceof InsecureUrlError) {
    return new ConfigError(
      `The connector refused to call ${error.origin}${error.context.path}: Salesforce is reached over https only (plain http only for a local emulator on 127.0.0.1). Use the https address of your login host and instance.`,
      { internalMessage: error.message, cause: error },
    );
  }
  if (error instanceof NetworkError) return networkFailure(error, loginUrl);
  if (error instanceof RateLimitError) {
    // REQUEST_LIMIT_EXCEEDED covers both the 24-hour allocation (TotalRequests) and the limit on
    // long-running calls at once (ConcurrentPerOrgLongTxn): only the second is helped by fewer parallel calls.
    const advice = /concurrent/i.test(error.message)
      ? 'Too many long-running calls ran at once in the org: lower parallel_requests, or schedule syncs apart from other integrations.'
      : "The org's 24-hour API allocation is used up: wait for it to recover, raise it, or schedule syncs apart from other integrations.";
    return new TransientError(
      `Salesforce's API limit stopped the run: ${error.message}. Any record that had finished was acknowledged; the next sync continues from there. ${advice}`,
      { internalMessage: error.message, cause: error },
    );
  }
  if (error instanceof UnknownOutcomeError) {
    return new TransientError(`Salesforce did not answer a call (${error.reason}); retry the sync.`, {
      internalMessage: error.message,
      cause: error,
    });
  }
  if (error instanceof SalesforceApiError) {
    const internal = error.message;
    switch (error.errorCode) {
      case 'INVALID_SESSION_ID':
        return new ConfigError(
          'Salesforce keeps refusing the session (INVALID_SESSION_ID) even after a new token: the app or user may have lost API access. Reconnect, and check that the user has the "API Enabled" permission.',
          { internalMessage: internal, cause: error },
        );
      case 'API_DISABLED_FOR_ORG':
      case 'API_CURRENTLY_DISABLED':
        return new ConfigError(
          'The REST API is disabled for this org or user (API_DISABLED_FOR_ORG): use an edition with API access and give the user the "API Enabled" permission.',
          { internalMessage: internal, cause: error },
        );
      case 'INSUFFICIENT_ACCESS':
      case 'INSUFFICIENT_ACCESS_OR_READONLY':
        return new ConfigError(
          `The Salesforce user lacks access (${error.errorCode}: ${error.salesforceMessage}). Grant object and field permissions with a permission set.`,
          { internalMessage: internal, cause: error },
        );
      case 'REQUEST_LIMIT_EXCEEDED':
        return new TransientError(
          `Salesforce's API limit was reached (${error.salesforceMessage}). Retry later, or raise the org's allocation.`,
          { internalMessage: internal, cause: error },
        );
      case 'UNREADABLE_RESPONSE':
        return new TransientError(
          `Answers to ${error.context.method} ${error.context.path} could not be read (${error.salesforceMessage}): something between the connector and Salesforce, such as a proxy or TLS inspection, may be answering in its place. Check the network path to the instance, then retry; rows not acknowledged are sent again by the next sync.`,
          { internalMessage: internal, cause: error },
        );
    }
    if (error.status >= 500) {
      return new TransientError(
        `Salesforce failed with HTTP ${error.status} (${error.errorCode}); retry the sync later.`,
        { internalMessage: internal, cause: error },
      );
    }
    return new SystemError(
      `Salesforce refused a call the connector made (${error.errorCode}: ${error.salesforceMessage}). This is probably a connector bug; please report it.`,
      { internalMessage: internal, cause: error },
    );
  }
  return new SystemError(
    'The connector hit an unexpected error (a bug). Please report it with the internal message and stack trace.',
    {
      internalMessage: error instanceof Error ? `${error.name}: ${error.message}` : String(error),
      cause: error,
    },
  );
}

/** A failure to reach Salesforce (or a proxy on the way), in words that say what to check. */
function networkFailure(error: NetworkError, loginUrl: string | undefined): ConnectorError {
  const signIn = error.context.path.startsWith('/services/oauth2');
  const where = loginUrl && signIn ? ` at ${loginUrl}` : '';
  if (error.code === `${PROXY_REFUSED}407`) {
    return new ConfigError(
      `The proxy refused the connector's credentials (HTTP 407 on ${error.context.method} ${error.context.path}${where}): put the proxy user and password in the proxy URL of HTTPS_PROXY, as http://user:password@proxy:port (percent-encode special characters).`,
      { internalMessage: error.message, cause: error },
    );
  }
  if (error.code.startsWith(`${PROXY_REFUSED}5`)) {
    return new TransientError(
      `The proxy could not reach Salesforce (HTTP ${error.code.slice(PROXY_REFUSED.length)} on ${error.context.method} ${error.context.path}${where}). Retry; if it persists, check that the proxy can reach the login host and *.my.salesforce.com.`,
      { internalMessage: error.message, cause: error },
    );
  }
  if (error.code.startsWith(PROXY_REFUSED)) {
    return new ConfigError(
      `The proxy refused to open a connection to Salesforce (HTTP ${error.code.slice(PROXY_REFUSED.length)} on ${error.context.method} ${error.context.path}${where}): allow the login host and *.my.salesforce.com through it, or list them in NO_PROXY if they are reachable directly.`,
      { internalMessage: error.message, cause: error },
    );
  }
  if (error.code === 'ENOTFOUND' && signIn) {
    // DNS answered that the name does not exist (EAI_AGAIN, a DNS server that did not answer,
    // stays transient below): a typo in the My Domain name, which no retry fixes.
    const host = hostOf(loginUrl);
    return new ConfigError(
      `The login host${host === undefined ? '' : ` ${host}`} does not exist (ENOTFOUND on ${error.context.method} ${error.context.path}): check login_url, and for a My Domain the domain name in it (Setup > My Domain shows it, e.g. https://mycompany.my.salesforce.com or https://mycompany--uat.sandbox.my.salesforce.com).`,
      { internalMessage: error.message, cause: error },
    );
  }
  if (TLS_CERTIFICATE_CODES.has(error.code)) {
    return new ConfigError(
      `The connector refused the TLS certificate of Salesforce${where} (${error.code} on ${error.context.method} ${error.context.path}). Usually a proxy inspects TLS traffic with its own certificate authority: give the connector that authority's certificate (NODE_EXTRA_CA_CERTS=/path/to/ca.pem in its environment), or exempt Salesforce from the inspection.`,
      { internalMessage: error.message, cause: error },
    );
  }
  return new TransientError(
    `Cannot reach Salesforce${where} (${error.code} on ${error.context.method} ${error.context.path}). Check the network, the login URL and any proxy, then retry.`,
    { internalMessage: error.message, cause: error },
  );
}
