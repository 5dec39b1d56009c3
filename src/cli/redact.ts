import { redactConnectionString } from 'mongodb-connection-string-url';

/** What a secret is replaced with. */
const MASK = '***';

/**
 * A connection string as it stands in a text: up to whitespace, a quote or a bracket (none of
 * which a valid connection string holds unencoded).
 */
const CONNECTION_STRING = /mongodb(?:\+srv)?:\/\/[^\s"'`<>()[\]{}]+/gi;

/**
 * Removes credentials from text before it is printed: every MongoDB connection string in it is
 * parsed with the driver's own connection-string parser (mongodb-connection-string-url) and
 * printed without its user info and secret options (tlsCertificateKeyFilePassword, proxyPassword,
 * the AWS session token of authMechanismProperties), where they stand:
 * `mongodb://user:pass@host/db?tlsCertificateKeyFilePassword=x` -> `mongodb://***@host/db?tlsCertificateKeyFilePassword=***`.
 * Nothing else in the text is touched: a user named `molt` must not turn `"name": "molt"` into
 * `***`, and JSON output stays JSON.
 */
export function redactUri(text: string): string {
  return text.replace(CONNECTION_STRING, (uri) => redactOne(uri));
}

function redactOne(uri: string): string {
  // The parser writes its placeholder percent-encoded where it stands in the user info.
  return redactConnectionString(uri, { replacementString: MASK }).replace(/%2A%2A%2A/gi, MASK);
}
