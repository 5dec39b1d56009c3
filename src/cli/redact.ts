/**
 * Removes credentials from text before it is printed: the user info of any MongoDB connection
 * string, secret-looking query parameters, and the literal secrets of the URI in use (wherever a
 * driver error might echo them).
 */
export class Redactor {
  readonly #secrets: string[];

  constructor(uri?: string) {
    this.#secrets = uri === undefined ? [] : secretsOf(uri);
  }

  redact(text: string): string {
    let out = redactUri(text);
    for (const secret of this.#secrets) out = out.split(secret).join('***');
    return out;
  }
}

// Up to the last '@' before the host: an unencoded '@' in a password must not leave its tail visible.
const USER_INFO = /(mongodb(?:\+srv)?:\/\/)[^/\s"']*@/gi;
const SECRET_PARAMS = /([?&;](?:[^=&\s"']*(?:password|secret|token|key)[^=&\s"']*)=)[^&\s"']*/gi;

/** `mongodb://user:pass@host/db?tlsCertificateKeyFilePassword=x` -> `mongodb://***@host/db?tlsCertificateKeyFilePassword=***`. */
export function redactUri(text: string): string {
  return text.replace(USER_INFO, '$1***@').replace(SECRET_PARAMS, '$1***');
}

function secretsOf(uri: string): string[] {
  const secrets = new Set<string>();
  const match = /^mongodb(?:\+srv)?:\/\/([^@/]*)@/i.exec(uri);
  const userInfo = match?.[1];
  if (userInfo) {
    secrets.add(userInfo);
    for (const part of userInfo.split(':')) {
      secrets.add(part);
      try {
        secrets.add(decodeURIComponent(part));
      } catch {
        // Not percent-encoded: the raw part is enough.
      }
    }
  }
  for (const param of uri.matchAll(/[?&]([^=&]*(?:password|secret|token|key)[^=&]*)=([^&]*)/gi)) {
    if (param[2]) secrets.add(param[2]);
  }
  // Very short strings would blank out ordinary words: the patterns above cover them in URIs.
  return [...secrets].filter((secret) => secret.length >= 3).sort((a, b) => b.length - a.length);
}
