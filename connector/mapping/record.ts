/**
 * One Airbyte record → one Salesforce payload, by a plan from planStream (plan.ts). The hot path of the
 * write command: per value one Map lookup and one converter call, no allocation but the payload and the
 * converted values. Rows Salesforce would refuse are refused here with its error code and message
 * (PRODUCT.md §6), costing no API call.
 */
import type { SalesforceRecordError } from '../salesforce/types.js';
import { jsonPreview, Rejection, requiredFieldsMissing } from './coerce.js';
import type { ColumnPlan, StreamPlan } from './plan.js';

export { planStream } from './plan.js';
export type {
  ColumnPlan,
  DropReason,
  DroppedColumn,
  NullHandling,
  PlanOptions,
  StreamPlan,
  WriteKind,
} from './plan.js';

/**
 * A payload (field API names → values; no `attributes`: the byte arena adds it as it serialises the
 * record, load/arena.ts) with the key's value as a
 * string when the plan has a matching field; or the error Salesforce would have answered.
 */
export type MapResult =
  { ok: true; payload: Record<string, unknown>; key?: string } | { ok: false; error: SalesforceRecordError };

function fail(error: SalesforceRecordError): MapResult {
  return {
    ok: false,
    error: { statusCode: error.statusCode, message: error.message, fields: [...error.fields] },
  };
}

/**
 * Maps one record's `data`. Columns are taken in the record's key order; an empty string counts as
 * null, which `nullHandling` then clears or skips; an absent column leaves the field alone.
 *
 * When several problems apply, the first is returned in this order — the order Salesforce itself
 * validates in: a value that cannot be converted (first in column order, including a null a field
 * cannot take), then a missing key (MISSING_ARGUMENT), then missing required fields
 * (REQUIRED_FIELD_MISSING, all of them in one error). The row-by-row required check runs for create
 * only: an upsert row without a required column may update an existing record, so Salesforce decides;
 * an upsert row that nulls a required field is refused, since that fails either way.
 *
 * When every column already is its field's API name and every value passes unchanged — a warehouse
 * model written for Salesforce — the payload is `data` itself: no copy is made (this runs for every
 * row). The caller must treat the payload as read-only. Otherwise payload keys are only ever API
 * names from Describe (never a record's key), so no record can reach a prototype through the payload.
 */
export function mapRecord(plan: StreamPlan, data: Record<string, unknown>): MapResult {
  // Built only from the first column that is renamed, converted or dropped; until then `data` is the payload.
  let payload: Record<string, unknown> | undefined;
  // Own keys only: whatever an enumerable prototype property says is no column of this record.
  const names = Object.keys(data);
  const cols = columnsOf(plan, names);
  for (let i = 0; i < names.length; i += 1) {
    const column = names[i]!;
    const col = cols[i]!;
    if (col === null) {
      payload ??= copyOf(data, names, i);
      continue;
    }
    const value = data[column];
    if (value !== null && value !== '') {
      if (value === undefined) continue;
      let out: unknown;
      let target: string;
      if (col.lookup !== undefined && typeof value === 'object' && !Array.isArray(value)) {
        out = col.lookup(value);
        target = col.lookupTarget;
      } else {
        out = col.convert(value);
        target = col.target;
      }
      if (out !== null) {
        if (out instanceof Rejection) return { ok: false, error: out.error };
        if (payload !== undefined) payload[target] = out;
        else if (out !== value || target !== column) {
          payload = copyOf(data, names, i);
          payload[target] = out;
        }
        continue;
      }
    }
    if (col.nullMode === 'set') {
      if (payload !== undefined) payload[col.nullTarget] = null;
      else if (value !== null || col.nullTarget !== column) {
        payload = copyOf(data, names, i);
        payload[col.nullTarget] = null;
      }
    } else {
      payload ??= copyOf(data, names, i);
      if (col.nullMode === 'reject' && col.nullError !== undefined) return fail(col.nullError);
    }
  }
  return finish(plan, payload ?? data);
}

/** The plans of a record's columns: the previous record's when it had the same keys. */
function columnsOf(plan: StreamPlan, names: readonly string[]): ReadonlyArray<ColumnPlan | null> {
  const shape = plan.shape;
  const last = shape.names;
  if (last.length === names.length) {
    let same = true;
    for (let i = 0; i < names.length; i += 1) {
      if (names[i] !== last[i]) {
        same = false;
        break;
      }
    }
    if (same) return shape.cols;
  }
  const cols = names.map((column) => {
    const col = plan.columns.get(column);
    return col === undefined ? plan.resolve(column) : col;
  });
  shape.names = names;
  shape.cols = cols;
  return cols;
}

/** A fresh payload holding the first `count` columns of `data`, which passed unchanged. */
function copyOf(
  data: Record<string, unknown>,
  names: readonly string[],
  count: number,
): Record<string, unknown> {
  const payload: Record<string, unknown> = {};
  for (let i = 0; i < count; i += 1) payload[names[i]!] = data[names[i]!];
  return payload;
}

/** The key and required-field checks on a mapped payload. */
function finish(plan: StreamPlan, payload: Record<string, unknown>): MapResult {
  let key: string | undefined;
  const keyCheck = plan.keyCheck;
  if (keyCheck !== undefined) {
    const value = payload[keyCheck.field];
    if (value === undefined || value === null) return fail(keyCheck.missing);
    key =
      typeof value === 'string'
        ? value
        : typeof value === 'number' || typeof value === 'boolean'
          ? value.toString()
          : jsonPreview(value, 1024);
  }

  const required = plan.required;
  if (required.length > 0) {
    let missing: string[] | undefined;
    for (const field of required) {
      if (payload[field.name] != null) continue;
      if (field.relationship !== undefined && payload[field.relationship] != null) continue;
      (missing ??= []).push(field.name);
    }
    if (missing !== undefined) return { ok: false, error: requiredFieldsMissing(missing) };
  }

  return key === undefined ? { ok: true, payload } : { ok: true, payload, key };
}
