/**
 * Salesforce record ids: 15 case-sensitive base-62 characters (3-character key prefix first) plus,
 * in the 18-character form every API returns, a 3-character suffix that encodes the case of the
 * first 15 so the id survives case-insensitive systems (reference §2.2 key prefixes; the suffix
 * algorithm is the one Salesforce documents for converting 15- to 18-character ids).
 */

const SUFFIX_ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ012345';
const BASE62 = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';
const ALNUM = /^[0-9A-Za-z]+$/;

function isUpper(code: number): boolean {
  return code >= 65 && code <= 90;
}

/** The 3-character case-checksum suffix of a 15-character id. */
export function idSuffix(id15: string): string {
  let suffix = '';
  for (let chunk = 0; chunk < 3; chunk++) {
    let flags = 0;
    for (let i = 0; i < 5; i++) {
      if (isUpper(id15.charCodeAt(chunk * 5 + i))) flags |= 1 << i;
    }
    suffix += SUFFIX_ALPHABET[flags];
  }
  return suffix;
}

/**
 * Canonical 18-character form of an id given in 15- or 18-character form, or undefined when it is
 * malformed (wrong length, non-alphanumeric, or a suffix that is not a valid checksum). An 18-character
 * id is restored to its proper case from its suffix, as Salesforce does.
 */
export function normalizeId(value: string): string | undefined {
  if (value.length === 15) {
    if (!ALNUM.test(value)) return undefined;
    return value + idSuffix(value);
  }
  if (value.length !== 18 || !ALNUM.test(value)) return undefined;
  const suffix = value.slice(15).toUpperCase();
  let body = '';
  for (let chunk = 0; chunk < 3; chunk++) {
    const flags = SUFFIX_ALPHABET.indexOf(suffix[chunk] ?? '');
    if (flags < 0) return undefined;
    for (let i = 0; i < 5; i++) {
      const ch = value[chunk * 5 + i] ?? '';
      body += flags & (1 << i) ? ch.toUpperCase() : ch.toLowerCase();
    }
  }
  // A digit cannot carry an "upper case" flag: such a suffix is not a checksum of any id.
  if (idSuffix(body) !== suffix) return undefined;
  return body + suffix;
}

/** Deterministic id generator: `<prefix>Em<10 base-62 digits>` + suffix, one counter per prefix. */
export class IdGenerator {
  private readonly counters = new Map<string, number>();

  next(prefix: string): string {
    const n = (this.counters.get(prefix) ?? 0) + 1;
    this.counters.set(prefix, n);
    return IdGenerator.make(prefix, n);
  }

  /** The id with sequence number `n` for a key prefix. */
  static make(prefix: string, n: number): string {
    let digits = '';
    let rest = n;
    while (rest > 0) {
      digits = BASE62[rest % 62] + digits;
      rest = Math.floor(rest / 62);
    }
    const id15 = (prefix + 'Em' + digits.padStart(10, '0')).slice(0, 15);
    return id15 + idSuffix(id15);
  }
}
