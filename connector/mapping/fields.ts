/**
 * Field rules derived from Describe that discover, check and write all share: which fields are
 * writable for an operation, which are required on create, which can match records.
 * Pure functions over the Describe shapes in ../salesforce/types.ts.
 */
import type { DescribeField, DescribeSObject } from '../salesforce/types.js';

/** How a set of fields is written: create (insert), update (by Id), upsert (create or update). */
export type WriteKind = 'create' | 'update' | 'upsert';

/**
 * Service-object minimums that hold even where an org's Describe would not say so
 * (PRODUCT.md section 6): a Case without a Subject, say, is useless to an agent.
 */
export const SERVICE_OBJECT_REQUIRED: Readonly<Record<string, readonly string[]>> = {
  Case: ['Subject'],
  Contact: ['LastName'],
  Lead: ['LastName', 'Company'],
  Account: ['Name'],
};

/**
 * A field Salesforce lets this user write for the given kind of write. Upsert may create or
 * update, so it needs both. Formula and auto-number fields are never writable whatever the flags say.
 */
export function isWritable(field: DescribeField, kind: WriteKind): boolean {
  if (field.calculated || field.autoNumber) return false;
  if (field.type === 'address' || field.type === 'location') return false;
  switch (kind) {
    case 'create':
      return field.createable;
    case 'update':
      return field.updateable;
    case 'upsert':
      return field.createable && field.updateable;
  }
}

/**
 * Required on create: Describe's rule (createable, not nillable, not defaulted on create; booleans
 * are never nillable and default to false, so they never count — reference/salesforce-api.md §2.3)
 * plus the service-object minimums.
 */
export function requiredOnCreate(describe: DescribeSObject): string[] {
  const names = new Set<string>();
  for (const f of describe.fields) {
    if (f.type === 'boolean' || f.type === 'id') continue;
    if (f.createable && !f.nillable && !f.defaultedOnCreate && !f.calculated && !f.autoNumber) {
      names.add(f.name);
    }
  }
  for (const name of SERVICE_OBJECT_REQUIRED[describe.name] ?? []) {
    if (describe.fields.some((f) => f.name === name && f.createable)) names.add(name);
  }
  return [...names].sort();
}

/** Fields that can name a record in an upsert: External ID fields and `idLookup` fields, never `Id`. */
export function matchingFields(describe: DescribeSObject): DescribeField[] {
  return describe.fields.filter((f) => f.name !== 'Id' && (f.externalId || f.idLookup));
}

/** A field can key an upsert only if it is External ID or idLookup and can be written on create. */
export function canKeyUpsert(field: DescribeField): boolean {
  return field.name !== 'Id' && (field.externalId || field.idLookup) && field.createable;
}

/** Case-insensitive field lookup, the way Salesforce resolves field API names. */
export function findField(describe: DescribeSObject, name: string): DescribeField | undefined {
  const lower = name.toLowerCase();
  return describe.fields.find((f) => f.name.toLowerCase() === lower);
}
