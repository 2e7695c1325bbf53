/**
 * For unit tests only (nothing in the connector imports it): the real Describe responses in
 * ../shared/salesforce-fixtures/.
 */
import { readFileSync } from 'node:fs';
import type { DescribeSObject } from '../salesforce/types.js';

/** The fixtures folder. */
export const FIXTURES = new URL('../../../shared/salesforce-fixtures/', import.meta.url);

/** The Describe of `describe-<name>.json`. */
export function loadDescribe(name: string): DescribeSObject {
  return JSON.parse(readFileSync(new URL(`describe-${name}.json`, FIXTURES), 'utf8')) as DescribeSObject;
}
