/**
 * Records as the API returns them: `attributes {type, url}`, fields in Describe order, datetimes in
 * read format (already stored that way), booleans false when never set, compound addresses built
 * from their components (reference §2.3, §6).
 */
import type { FieldInfo, ObjectSchema, StoredValue } from './schema.js';
import type { Row } from './store.js';

/** `{type, url}` of a record. */
export function attributes(schema: ObjectSchema, id: string, version: string): { type: string; url: string } {
  return { type: schema.name, url: `/services/data/v${version}/sobjects/${schema.name}/${id}` };
}

/** The value of one field as the API shows it. */
export function readValue(schema: ObjectSchema, row: Row, field: FieldInfo): unknown {
  const v = row[field.name];
  if (v !== undefined) return v;
  if (field.type === 'boolean') return false;
  if (field.type === 'address') {
    const compound = schema.addresses.find((a) => a.name === field.name);
    if (compound === undefined) return null;
    const out: Record<string, StoredValue> = {};
    let any = false;
    for (const [key, name] of compound.components) {
      const c = row[name] ?? null;
      if (c !== null) any = true;
      out[key] = c;
    }
    return any ? out : null;
  }
  return null;
}

/** Full record (GET /sobjects/{O}/{id}) or the given fields only. */
export function recordJson(
  schema: ObjectSchema,
  row: Row,
  version: string,
  fields?: FieldInfo[],
): Record<string, unknown> {
  const out: Record<string, unknown> = { attributes: attributes(schema, row.Id as string, version) };
  for (const f of fields ?? schema.fields) out[f.name] = readValue(schema, row, f);
  return out;
}

/** A copy of the stored record for inspection, with booleans that were never set shown as false. */
export function inspectRecord(schema: ObjectSchema, row: Row): Record<string, unknown> {
  const out: Record<string, unknown> = { ...row };
  for (const f of schema.booleanFields) if (out[f.name] === undefined) out[f.name] = false;
  return out;
}
