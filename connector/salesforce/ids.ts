/**
 * Salesforce record Ids: 15 characters, case-sensitive, or 18 with a 3-character suffix that
 * encodes which of the first 15 are upper case, so that case-insensitive systems can tell them apart.
 */

const SUFFIX = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ012345';
const ID = /^[a-zA-Z0-9]{15}(?:[a-zA-Z0-9]{3})?$/;

/** True for a 15- or 18-character alphanumeric Id. */
export function isSalesforceId(value: string): boolean {
  return ID.test(value);
}

/** The 18-character form of a 15- or 18-character Id (an 18-character Id is returned as is). */
export function toId18(id: string): string {
  if (id.length !== 15) return id;
  let suffix = '';
  for (let chunk = 0; chunk < 3; chunk += 1) {
    let bits = 0;
    for (let i = 0; i < 5; i += 1) {
      const c = id.charCodeAt(chunk * 5 + i);
      if (c >= 65 && c <= 90) bits |= 1 << i;
    }
    suffix += SUFFIX[bits];
  }
  return id + suffix;
}

/**
 * One form for every spelling of a record's Id: the 18-character Id with the letter case its suffix
 * encodes. A 15-character Id gains its suffix; an 18-character Id whose letters lost their case (a
 * case-insensitive warehouse) gets it back from the suffix, which exists for exactly that. Anything
 * else is returned as it is.
 */
export function canonicalId(id: string): string {
  if (!ID.test(id)) return id;
  if (id.length === 15) return toId18(id);
  const suffix = id.slice(15).toUpperCase();
  let body = '';
  for (let chunk = 0; chunk < 3; chunk += 1) {
    const bits = SUFFIX.indexOf(suffix[chunk]!);
    if (bits < 0) return id.slice(0, 15) + suffix;
    for (let i = 0; i < 5; i += 1) {
      const c = id[chunk * 5 + i]!;
      body += (bits & (1 << i)) !== 0 ? c.toUpperCase() : c.toLowerCase();
    }
  }
  return body + suffix;
}
