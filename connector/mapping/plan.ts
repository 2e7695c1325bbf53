/**
 * Per-stream mapping plan: which column feeds which Salesforce field, with which converter and which
 * null rule, decided once from Describe so that mapping a record (record.ts) is one Map lookup and one
 * converter call per value. PRODUCT.md §6 is the contract; REST relationship syntax for lookups by
 * External ID is in ../../../shared/reference/salesforce-api.md §3.3.
 */
import type { DescribeField, DescribeSObject, SalesforceRecordError } from '../salesforce/types.js';
import {
  converterFor,
  echo,
  invalidType,
  nullCheckbox,
  recordError,
  Rejection,
  requiredFieldsMissing,
  type Converter,
} from './coerce.js';
import { findField, isWritable, requiredOnCreate, type WriteKind } from './fields.js';
import { nearestName } from '../suggest.js';

export type { WriteKind } from './fields.js';

/** `clear` sends JSON null, which clears the field (reference §3.4); `skip` leaves the field out. */
export type NullHandling = 'clear' | 'skip';

/** How one stream's records become Salesforce payloads. */
export interface PlanOptions {
  /** Which Describe flag decides writability (see isWritable in fields.ts). */
  kind: WriteKind;
  /**
   * The stream's columns (top-level properties of its JSON schema). May be empty when the schema is
   * unknown: columns are then resolved on first sight in a record.
   */
  columns: string[];
  /**
   * Source column (exact) → field API name, `Relationship.ExternalField` for a lookup by External ID,
   * or `Type:Relationship.ExternalField` for a polymorphic lookup. Targets match case-insensitively.
   */
  fieldMappings?: Record<string, string>;
  /**
   * The key field (External ID, idLookup field or `Id`), matched case-insensitively. Always kept in the
   * payload, writable or not: it names the record. planStream throws if the object has no such field
   * (check reports that as a config error before any write).
   */
  matchingField?: string;
  nullHandling: NullHandling;
  /**
   * Only the key column is read (remove: a delete sends nothing else, so a bad value in another
   * column must not refuse the row); the other columns are left out without a warning.
   */
  keyOnly?: boolean;
  /** Describe of a lookup's parent object, to check and canonicalise its External ID field. */
  describeParent?: (objectName: string) => DescribeSObject | undefined;
}

/** Why a column is not written. */
export type DropReason =
  | 'unknown_field'
  | 'read_only'
  | 'not_updateable'
  | 'not_createable'
  | 'reserved'
  /** Another column already writes the same field (an explicit field mapping wins over a name match). */
  | 'duplicate'
  /** `Relationship.Field` on a polymorphic lookup (Owner → Group or User) without the `Type:` prefix. */
  | 'ambiguous_reference'
  /** Not the key, with `keyOnly`: left out without a warning. */
  | 'not_needed';

/** A column left out of every payload, with a sentence for the stream's one warning. */
export interface DroppedColumn {
  column: string;
  reason: DropReason;
  note: string;
}

/**
 * What a null (or empty string) does: `omit` leaves the field out, `set` sends null, `reject` refuses
 * the row with the column's `nullError`.
 */
export type NullMode = 'omit' | 'set' | 'reject';

/** One resolved column. Internal to the mapping; exported for mapRecord. */
export interface ColumnPlan {
  readonly column: string;
  /** Payload key for a converted scalar: the field's API name, or a relationship name for `Rel.Field` columns. */
  readonly target: string;
  readonly convert: Converter;
  /** For reference fields: turns an object value `{"Ext__c": "x"}` into a relationship lookup. */
  readonly lookup: Converter | undefined;
  /** Payload key of `lookup`'s result: the relationship name. */
  readonly lookupTarget: string;
  readonly nullMode: NullMode;
  /** Payload key a null goes to: the field itself, or the reference field behind a relationship. */
  readonly nullTarget: string;
  readonly nullError: SalesforceRecordError | undefined;
}

/** A field every created row needs, found under its own name or, for lookups, its relationship name. */
export interface RequiredField {
  readonly name: string;
  readonly relationship: string | undefined;
}

/** A stream's mapping, computed once by {@link planStream} and used by mapRecord for every row. */
export interface StreamPlan {
  readonly object: string;
  readonly kind: WriteKind;
  /** The matching field's API name as Describe spells it. */
  readonly matchingField: string | undefined;
  /** Columns of `options.columns` that are not written; the caller logs one warning per stream. */
  readonly dropped: readonly DroppedColumn[];
  /**
   * Columns first seen in records (not in `options.columns`) that are not written. It only grows, by
   * one entry per distinct column; a caller warns about new entries once (say, when the stream ends).
   */
  readonly lateDropped: DroppedColumn[];
  /**
   * Fields required on create (requiredOnCreate) that no column feeds; kinds create and upsert only,
   * and empty when `options.columns` is empty (the schema is unknown, so rows are checked one by one).
   * The caller fails the stream with a config_error before any write.
   */
  readonly missingRequired: readonly string[];
  /** True when columns are known and none feeds the matching field: every row would lack its key. */
  readonly missingKey: boolean;
  /** Resolved columns by exact name, `null` for ignored ones; grows as records reveal new columns. */
  readonly columns: Map<string, ColumnPlan | null>;
  /** Resolves a column first seen in a record and caches the answer in `columns`. */
  readonly resolve: (column: string) => ColumnPlan | null;
  /**
   * The last record's column names and their plans. Rows of one stream nearly always carry the same
   * keys in the same order, so mapRecord compares names (interned strings) instead of looking each
   * one up.
   */
  readonly shape: { names: readonly string[]; cols: ReadonlyArray<ColumnPlan | null> };
  /** The matching field's payload key, and the `MISSING_ARGUMENT` for a row without a value there. */
  readonly keyCheck: { readonly field: string; readonly missing: SalesforceRecordError } | undefined;
  /** Per-row required check; create only (an upsert row may update, see planStream). */
  readonly required: readonly RequiredField[];
}

/**
 * Names that would reach `Object.prototype` through an assignment or a merge. Never mapped, whatever
 * Describe or the mappings say.
 */
const RESERVED = new Set(['__proto__', 'constructor', 'prototype']);

/**
 * Distinct columns a plan remembers. Records are untrusted and could bring a new key in every row;
 * no real stream has this many columns.
 */
const MAX_COLUMNS = 10_000;

/** Lookup-target caches stop growing here: object keys come from records, and records are untrusted. */
const PARENT_CACHE_MAX = 64;

/** Where a column's target points: a field, or a parent's field through a relationship. */
type Target =
  | { form: 'field'; field: DescribeField }
  | { form: 'relationship'; field: DescribeField; parent: string; parentField: string; typed: boolean }
  | { form: 'none'; reason: DropReason; note: string };

/** A parent field a lookup names, checked against the parent's Describe when there is one. */
type ParentTarget = { name: string; convert: Converter } | SalesforceRecordError;

/** A lookup body in REST relationship syntax; `attributes.type` only for polymorphic references. */
function lookupBody(type: string | undefined, field: string, value: unknown): Record<string, unknown> {
  // Computed keys define own properties, so even a hostile name could not reach the prototype.
  return type === undefined ? { [field]: value } : { attributes: { type }, [field]: value };
}

function isDropped(resolved: ColumnPlan | DroppedColumn): resolved is DroppedColumn {
  return 'reason' in resolved;
}

function errorOf(error: SalesforceRecordError): Rejection {
  return new Rejection({ ...error, fields: [...error.fields] });
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Lookup values when the parent's Describe is unknown: scalars as they are, Salesforce judges them. */
function scalarFor(reference: DescribeField): Converter {
  return (value) =>
    typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean'
      ? value
      : invalidType(reference, value);
}

/** A field no sync can set, whatever the operation: a formula, an auto-number, a compound, or neither createable nor updateable. */
function isReadOnly(field: DescribeField): boolean {
  return (
    field.calculated ||
    field.autoNumber ||
    field.type === 'address' ||
    field.type === 'location' ||
    (!field.createable && !field.updateable)
  );
}

function readOnlyNote(field: DescribeField): string {
  if (field.calculated) return `${field.name} is a formula field and read-only`;
  if (field.autoNumber) return `${field.name} is an auto-number field and read-only`;
  if (field.type === 'address' || field.type === 'location') {
    return `${field.name} is a read-only compound field; map its component fields instead`;
  }
  return `${field.name} is read-only`;
}

/** Resolves column names to column plans for one stream; holds the state shared by eager and lazy resolution. */
class ColumnResolver {
  private readonly fieldsByName = new Map<string, DescribeField>();
  private readonly referencesByRelationship = new Map<string, DescribeField>();
  /** Field API name → the column that writes it. */
  private readonly claimed = new Map<string, string>();
  /** Fields an explicit mapping writes: a column that merely shares their name yields to it. */
  private readonly mappedFields = new Map<string, string>();
  private readonly requiredNames: Set<string>;
  readonly keyField: DescribeField | undefined;
  /** One sentence per field mapping whose destination names no field or lookup of the object. */
  readonly unknownMappings: string[] = [];
  /** "Did you mean" suggestions left to give (mappings are resolved first, so they get theirs). */
  private suggestions = 50;

  constructor(
    private readonly describe: DescribeSObject,
    private readonly options: PlanOptions,
  ) {
    for (const field of describe.fields) {
      // Payload keys are these names; a hostile Describe must not smuggle a prototype key in either.
      if (RESERVED.has(field.name) || RESERVED.has(field.relationshipName ?? '')) continue;
      this.fieldsByName.set(field.name.toLowerCase(), field);
      if (field.type === 'reference' && field.relationshipName) {
        this.referencesByRelationship.set(field.relationshipName.toLowerCase(), field);
      }
    }
    this.requiredNames = new Set(options.kind === 'update' ? [] : requiredOnCreate(describe));
    if (options.matchingField !== undefined) {
      this.keyField = findField(describe, options.matchingField);
      if (this.keyField === undefined) {
        throw new Error(`Matching field ${options.matchingField} does not exist on ${describe.name}`);
      }
    }
    for (const [column, target] of Object.entries(options.fieldMappings ?? {})) {
      const resolved = this.target(target);
      if (resolved.form === 'none') {
        this.unknownMappings.push(
          `field_mappings sends column "${column}" to "${target}", but ${resolved.note}.`,
        );
        continue;
      }
      if (resolved.form === 'field' && resolved.field !== this.keyField && isReadOnly(resolved.field)) {
        this.unknownMappings.push(
          `field_mappings sends column "${column}" to "${target}", but ${readOnlyNote(resolved.field)}: Salesforce sets it, never a sync.`,
        );
      }
      this.mappedFields.set(resolved.field.name, column);
    }
  }

  /** Required-on-create names in requiredOnCreate's order; empty for update. */
  get required(): string[] {
    return [...this.requiredNames];
  }

  isClaimed(fieldName: string): boolean {
    return this.claimed.has(fieldName);
  }

  resolve(column: string): ColumnPlan | DroppedColumn {
    if (RESERVED.has(column)) {
      return { column, reason: 'reserved', note: `${column} is a reserved name and never mapped` };
    }
    const mappings = this.options.fieldMappings;
    const mapped = mappings !== undefined && Object.hasOwn(mappings, column) ? mappings[column] : undefined;
    const target = this.target(mapped ?? column);
    if (this.options.keyOnly === true && !(target.form === 'field' && target.field === this.keyField)) {
      return { column, reason: 'not_needed', note: 'a delete sends only the key' };
    }
    if (target.form === 'none') return { column, reason: target.reason, note: target.note };
    const field = target.field;
    const isKey = target.form === 'field' && field === this.keyField;
    if (!isKey && !isWritable(field, this.options.kind)) return this.unwritable(column, field);
    const mappedFrom = this.mappedFields.get(field.name);
    if (mapped === undefined && mappedFrom !== undefined && mappedFrom !== column) {
      return { column, reason: 'duplicate', note: `${field.name} is written from column ${mappedFrom}` };
    }
    const writer = this.claimed.get(field.name);
    if (writer !== undefined && writer !== column) {
      return { column, reason: 'duplicate', note: `${field.name} is already written from column ${writer}` };
    }
    this.claimed.set(field.name, column);
    return this.columnPlan(column, target, isKey);
  }

  /** `Field`, `Relationship` (the reference field behind it), `Relationship.Field` or `Type:Relationship.Field`. */
  private target(name: string): Target {
    const dot = name.indexOf('.');
    if (dot < 0) {
      const lower = name.toLowerCase();
      const field = this.fieldsByName.get(lower) ?? this.referencesByRelationship.get(lower);
      if (field !== undefined) return { form: 'field', field };
      // A suggestion compares the name with every field: only for the first few unknown names, or a
      // source with a new column on every row would pay that on every row.
      const near =
        this.suggestions-- <= 0
          ? undefined
          : nearestName(
              name,
              this.describe.fields.map((f) => f.name),
              ['__c'],
            );
      return {
        form: 'none',
        reason: 'unknown_field',
        note: `${this.describe.name} has no field ${name}${near === undefined ? '' : ` (did you mean ${near}?)`}`,
      };
    }
    const path = name.slice(0, dot);
    const parentField = name.slice(dot + 1);
    const colon = path.indexOf(':');
    const relationship = colon < 0 ? path : path.slice(colon + 1);
    const reference = this.referencesByRelationship.get(relationship.toLowerCase());
    if (reference === undefined) {
      return {
        form: 'none',
        reason: 'unknown_field',
        note: `${this.describe.name} has no lookup relationship ${relationship}`,
      };
    }
    if (parentField === '' || parentField.includes('.') || RESERVED.has(parentField)) {
      return {
        form: 'none',
        reason: 'unknown_field',
        note: `${name} must name one External ID field of the parent (Relationship.Field)`,
      };
    }
    const parents = reference.referenceTo;
    const polymorphic = parents.length > 1;
    if (colon < 0) {
      const parent = parents[0];
      if (polymorphic || parent === undefined) {
        return {
          form: 'none',
          reason: 'ambiguous_reference',
          note: `${relationship} can refer to ${parents.join(' or ')}; name the object first, as in ${parents[parents.length - 1] ?? 'Type'}:${name}`,
        };
      }
      return { form: 'relationship', field: reference, parent, parentField, typed: false };
    }
    const typeName = path.slice(0, colon).toLowerCase();
    const parent = parents.find((p) => p.toLowerCase() === typeName);
    if (parent === undefined) {
      return {
        form: 'none',
        reason: 'unknown_field',
        note: `${relationship} can refer to ${parents.join(' or ')}, not ${path.slice(0, colon)}`,
      };
    }
    return { form: 'relationship', field: reference, parent, parentField, typed: polymorphic };
  }

  private unwritable(column: string, field: DescribeField): DroppedColumn {
    const kind = this.options.kind;
    if (isReadOnly(field)) return { column, reason: 'read_only', note: readOnlyNote(field) };
    if (kind !== 'update' && !field.createable) {
      return {
        column,
        reason: 'not_createable',
        note: `${field.name} cannot be set when a record is created`,
      };
    }
    return {
      column,
      reason: 'not_updateable',
      note:
        kind === 'upsert'
          ? `${field.name} cannot be changed on existing records, and an upsert may update`
          : `${field.name} cannot be changed on existing records`,
    };
  }

  private columnPlan(column: string, target: Exclude<Target, { form: 'none' }>, isKey: boolean): ColumnPlan {
    const field = target.field;
    const { nullMode, nullError } = this.nullRule(field, isKey);
    const relationship = field.relationshipName ?? '';
    if (target.form === 'relationship') {
      return {
        column,
        target: relationship,
        convert: this.relationshipColumn(field, target.parent, target.parentField, target.typed),
        lookup: undefined,
        lookupTarget: relationship,
        nullMode,
        nullTarget: field.name,
        nullError,
      };
    }
    return {
      column,
      target: field.name,
      convert: converterFor(field, field.name, this.describe.keyPrefix),
      lookup: field.type === 'reference' && relationship !== '' ? this.lookupObject(field) : undefined,
      lookupTarget: relationship,
      nullMode,
      nullTarget: field.name,
      nullError,
    };
  }

  /**
   * Nulls: the key goes to the key check (MISSING_ARGUMENT); a checkbox is never null in Salesforce; on
   * create, a field required on create goes to the per-row check, which names every missing field at
   * once; any other non-nillable field (on upsert, a required one too: nulling it fails whether the row
   * creates or updates) answers REQUIRED_FIELD_MISSING as Salesforce would (reference §3.4).
   */
  private nullRule(
    field: DescribeField,
    isKey: boolean,
  ): { nullMode: NullMode; nullError: SalesforceRecordError | undefined } {
    if (
      isKey ||
      this.options.nullHandling === 'skip' ||
      (this.options.kind === 'create' && this.requiredNames.has(field.name))
    ) {
      return { nullMode: 'omit', nullError: undefined };
    }
    if (field.type === 'boolean') return { nullMode: 'reject', nullError: nullCheckbox(field) };
    if (!field.nillable) return { nullMode: 'reject', nullError: requiredFieldsMissing([field.name]) };
    return { nullMode: 'set', nullError: undefined };
  }

  /**
   * The parent field a lookup names. With the parent's Describe, the name is made canonical and must
   * be an External ID or idLookup field; otherwise each row is refused with INVALID_FIELD, the answer
   * Salesforce gives (reference §3.3) — a lookup silently left out would write records without their parent.
   */
  private parentTarget(reference: DescribeField, parentName: string, fieldName: string): ParentTarget {
    const fields = [reference.name];
    const parent = this.options.describeParent?.(parentName);
    if (parent === undefined) {
      if (RESERVED.has(fieldName)) {
        return {
          statusCode: 'INVALID_FIELD',
          message: `No such column '${fieldName}' on sobject of type ${parentName}`,
          fields,
        };
      }
      return { name: fieldName, convert: scalarFor(reference) };
    }
    const field = RESERVED.has(fieldName) ? undefined : findField(parent, fieldName);
    if (field === undefined) {
      return {
        statusCode: 'INVALID_FIELD',
        message: `No such column '${fieldName}' on sobject of type ${parentName}`,
        fields,
      };
    }
    if (!field.externalId && !field.idLookup) {
      return {
        statusCode: 'INVALID_FIELD',
        message: `${field.name} is not an External ID or indexed field for ${parentName}`,
        fields,
      };
    }
    return { name: field.name, convert: converterFor(field, reference.name) };
  }

  /** A `Relationship.Field` column: each scalar becomes `{"Field": value}` under the relationship name. */
  private relationshipColumn(
    reference: DescribeField,
    parentName: string,
    parentField: string,
    typed: boolean,
  ): Converter {
    const target = this.parentTarget(reference, parentName, parentField);
    if (!('name' in target)) return () => errorOf(target);
    const { name, convert } = target;
    const type = typed ? parentName : undefined;
    return (value) => {
      const out = convert(value);
      return out === null || out instanceof Rejection ? out : lookupBody(type, name, out);
    };
  }

  /**
   * An object value in a reference column (`AccountId` or `Account`): `{"External_ID__c": "A-1"}`, plus
   * `"attributes": {"type": "User"}` to choose the parent of a polymorphic lookup. A null parent value
   * means no parent, so the reference's null rule applies.
   */
  private lookupObject(reference: DescribeField): Converter {
    const parents = reference.referenceTo;
    const cache = new Map<string, Map<string, ParentTarget>>();
    return (value) => {
      if (!isObject(value)) return invalidType(reference, value);
      let parent = parents.length === 1 ? parents[0] : undefined;
      let key: string | undefined;
      let count = 0;
      for (const name of Object.keys(value)) {
        if (name !== 'attributes') {
          key = name;
          count++;
          continue;
        }
        const attributes = value.attributes;
        const type = isObject(attributes) ? attributes.type : undefined;
        if (type === undefined) continue;
        const lower = typeof type === 'string' ? type.toLowerCase() : '';
        parent = parents.find((p) => p.toLowerCase() === lower);
        if (parent === undefined) {
          return recordError(
            'INVALID_FIELD',
            `${reference.label}: ${echo(type)} is not one of ${parents.join(', ')}`,
            reference.name,
          );
        }
      }
      if (count !== 1 || key === undefined) return invalidType(reference, value);
      if (parent === undefined) {
        return recordError(
          'INVALID_FIELD',
          `${reference.label} can refer to ${parents.join(' or ')}: add "attributes": {"type": "<object>"}`,
          reference.name,
        );
      }
      const inner = value[key];
      if (inner === null || inner === '' || inner === undefined) return null;
      let byField = cache.get(parent);
      if (byField === undefined) {
        byField = new Map<string, ParentTarget>();
        cache.set(parent, byField);
      }
      let target = byField.get(key);
      if (target === undefined) {
        target = this.parentTarget(reference, parent, key);
        if (byField.size < PARENT_CACHE_MAX) byField.set(key, target);
      }
      if (!('name' in target)) return errorOf(target);
      const out = target.convert(inner);
      if (out === null || out instanceof Rejection) return out;
      return lookupBody(parents.length > 1 ? parent : undefined, target.name, out);
    };
  }
}

/**
 * Field mappings whose destination names no field or lookup relationship of the object (a typo, a
 * missing __c, a polymorphic lookup without its type) or a field no sync can set (a formula, an
 * auto-number such as Case.CaseNumber, unless it is the matching field): one sentence each. A mapping
 * is an explicit instruction, so such a destination is a config error, not a column quietly left out
 * (the warning planStream gives a column that merely matches no field by name).
 */
export function mappingTargetProblems(
  describe: DescribeSObject,
  fieldMappings: Readonly<Record<string, string>>,
  matchingField?: string,
): string[] {
  if (Object.keys(fieldMappings).length === 0) return [];
  // A matching field that does not exist is targetProblems' to report.
  const key =
    matchingField !== undefined && findField(describe, matchingField) !== undefined
      ? matchingField
      : undefined;
  return new ColumnResolver(describe, {
    kind: 'upsert',
    columns: [],
    fieldMappings,
    nullHandling: 'clear',
    ...(key !== undefined ? { matchingField: key } : {}),
  }).unknownMappings;
}

/**
 * Plans one stream: resolves every known column, lists the dropped ones and the required fields no
 * column feeds. Throws when `matchingField` does not exist on the object.
 */
export function planStream(describe: DescribeSObject, options: PlanOptions): StreamPlan {
  const resolver = new ColumnResolver(describe, options);
  const columns = new Map<string, ColumnPlan | null>();
  const dropped: DroppedColumn[] = [];
  const lateDropped: DroppedColumn[] = [];
  const settle = (column: string, into: DroppedColumn[]): ColumnPlan | null => {
    const resolved = resolver.resolve(column);
    // Past the cap a column is resolved again at each sight, neither cached nor listed: memory stays flat.
    if (columns.size >= MAX_COLUMNS) return isDropped(resolved) ? null : resolved;
    if (isDropped(resolved)) {
      if (resolved.reason !== 'not_needed') into.push(resolved);
      columns.set(column, null);
      return null;
    }
    columns.set(column, resolved);
    return resolved;
  };
  for (const column of options.columns) {
    if (!columns.has(column)) settle(column, dropped);
  }
  const known = options.columns.length > 0;
  const required = resolver.required;
  const keyField = resolver.keyField;
  // Salesforce's own words for an update without Id (reference §3.2); the same form for other keys.
  const keyCheck =
    keyField === undefined
      ? undefined
      : {
          field: keyField.name,
          missing:
            options.kind === 'update' && keyField.name === 'Id'
              ? { statusCode: 'MISSING_ARGUMENT', message: 'Id not specified in an update call', fields: [] }
              : {
                  statusCode: 'MISSING_ARGUMENT',
                  message: `${keyField.name} not specified`,
                  fields: [keyField.name],
                },
        };
  return {
    object: describe.name,
    kind: options.kind,
    matchingField: keyField?.name,
    dropped,
    lateDropped,
    missingRequired: known ? required.filter((name) => !resolver.isClaimed(name)) : [],
    missingKey: known && keyField !== undefined && !resolver.isClaimed(keyField.name),
    columns,
    resolve: (column) => settle(column, lateDropped),
    shape: { names: [], cols: [] },
    keyCheck,
    // An upsert row without a required column may update an existing record, which needs no such
    // value: only Salesforce knows which it is, so only creates are checked row by row.
    required:
      options.kind === 'create'
        ? required.map((name) => ({
            name,
            relationship: findField(describe, name)?.relationshipName ?? undefined,
          }))
        : [],
  };
}
