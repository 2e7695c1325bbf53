/**
 * Secret redaction for everything the connector prints about itself (LOG, TRACE, CONNECTION_STATUS).
 * Two layers: the exact values of secrets it knows (config fields marked airbyte_secret, access
 * tokens as they are issued), and patterns that catch secret shapes it was never told about
 * (bearer tokens, OAuth form parameters, Salesforce session ids, PEM keys).
 */

const MASK = '**********';

/** Salesforce access tokens look like `<15-char org id>!<opaque>` (reference §1.2). */
const PATTERNS: ReadonlyArray<[RegExp, string]> = [
  [/-----BEGIN [A-Z ]*PRIVATE KEY-----[\s\S]*?-----END [A-Z ]*PRIVATE KEY-----/g, MASK],
  [/\b(Bearer|OAuth)\s+[A-Za-z0-9._~+/!=-]+/gi, `$1 ${MASK}`],
  [
    /\b(access_token|refresh_token|client_secret|assertion|code_verifier|code|password|token)=([^&\s"']+)/gi,
    `$1=${MASK}`,
  ],
  [
    /("(?:access_token|refresh_token|client_secret|private_key|assertion|password|code_verifier)"\s*:\s*)"(?:[^"\\]|\\.)*"/gi,
    `$1"${MASK}"`,
  ],
  [/\b00D[A-Za-z0-9]{12,15}![A-Za-z0-9._]{20,}/g, MASK],
];

/** Replaces known secret values and secret-shaped substrings. */
export class Redactor {
  private readonly secrets = new Set<string>();

  /** Remembers a secret value; values shorter than 4 characters are ignored (they would mask noise). */
  add(value: unknown): void {
    if (typeof value !== 'string') return;
    const trimmed = value.trim();
    if (trimmed.length >= 4) this.secrets.add(trimmed);
    // A PEM key is also matched line by line, in case a log shows one line of it.
    if (trimmed.includes('\n')) {
      for (const line of trimmed.split('\n')) {
        const l = line.trim();
        if (l.length >= 16 && !l.startsWith('-----')) this.secrets.add(l);
      }
    }
  }

  /** The text with every known secret and secret-shaped substring masked. */
  redact(text: string): string {
    let out = text;
    for (const secret of this.secrets) {
      if (out.includes(secret)) out = out.split(secret).join(MASK);
      const encoded = encodeURIComponent(secret);
      if (encoded !== secret && out.includes(encoded)) out = out.split(encoded).join(MASK);
    }
    for (const [pattern, replacement] of PATTERNS) out = out.replace(pattern, replacement);
    return out;
  }
}

/**
 * Collects the values of every property marked `airbyte_secret` in a connection specification,
 * walking oneOf branches, from a config object.
 */
export function secretValues(spec: Record<string, unknown>, config: unknown): string[] {
  const out: string[] = [];
  walk(spec, config, out);
  return [...new Set(out)];
}

function walk(schema: unknown, value: unknown, out: string[]): void {
  if (schema === null || typeof schema !== 'object') return;
  const s = schema as Record<string, unknown>;
  if (s.airbyte_secret === true && typeof value === 'string') out.push(value);
  if (value === null || typeof value !== 'object') return;
  const v = value as Record<string, unknown>;
  if (s.properties && typeof s.properties === 'object') {
    for (const [key, sub] of Object.entries(s.properties as Record<string, unknown>)) {
      if (Object.hasOwn(v, key)) walk(sub, v[key], out);
    }
  }
  if (Array.isArray(s.oneOf)) for (const branch of s.oneOf) walk(branch, value, out);
  if (s.items !== undefined && Array.isArray(value)) for (const item of value) walk(s.items, item, out);
}
