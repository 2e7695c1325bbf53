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
