/**
 * Describe field → Airbyte JSON schema. Pure: the schema a data-activation UI shows for one
 * Salesforce field, in Airbyte's type system
 * (https://docs.airbyte.com/understanding-airbyte/supported-data-types) and JSON Schema draft-07,
 * the dialect of the Airbyte protocol.
 */
import type { DescribeField } from '../salesforce/types.js';

/** JSON Schema primitive type names (Airbyte integers are `integer`). */
export type JsonSchemaTypeName = 'string' | 'number' | 'integer' | 'boolean' | 'array' | 'object' | 'null';

/**
 * The part of JSON Schema draft-07 this mapping emits, plus Airbyte's `airbyte_type` annotation.
 * A type alias rather than an interface so values stay assignable to `Record<string, unknown>`.
 */
export type JsonSchema = {
  title?: string;
  description?: string;
  type?: JsonSchemaTypeName | JsonSchemaTypeName[];
  format?: string;
  airbyte_type?: string;
  contentEncoding?: string;
  minLength?: number;
  maxLength?: number;
  pattern?: string;
  minimum?: number;
  maximum?: number;
  exclusiveMinimum?: number;
  exclusiveMaximum?: number;
  enum?: (string | null)[];
  examples?: string[];
  items?: JsonSchema;
  oneOf?: JsonSchema[];
};

/** The schema of one destination object's records: every property optional unless `required`. */
export type ObjectJsonSchema = {
  type: 'object';
  /** Columns that match no field are tolerated (dropped with a warning by the writer, PRODUCT.md §6). */
  additionalProperties: true;
  properties: Record<string, JsonSchema>;
  required?: string[];
};

/**
 * A Salesforce record Id: 15 characters (case-sensitive) or 18 (with the case-safe suffix).
 * https://help.salesforce.com/s/articleView?id=000385008&type=1
 */
export const SALESFORCE_ID_PATTERN = '^[a-zA-Z0-9]{15}(?:[a-zA-Z0-9]{3})?$';

/**
 * Largest power of ten that is still an exact JavaScript number; beyond it a bound would be
 * rounded and could reject values Salesforce accepts.
 */
const MAX_EXACT_POWER_OF_TEN = 15;

/**
 * The Airbyte JSON schema of one Describe field, or `undefined` when the field can never be
 * written: the read-only `address` and `location` compounds (their components are the writable
 * fields). Types Salesforce may add in later API versions map to a plain string so a user can still
 * map a column to them; Salesforce remains the judge of the value.
 */
export function fieldJsonSchema(field: DescribeField): JsonSchema | undefined {
  const schema = typedSchema(field);
  if (schema === undefined) return undefined;
  return { title: field.label, ...schema };
}

/** The type-specific part of the schema, nullability included, without the title. */
function typedSchema(field: DescribeField): JsonSchema | undefined {
  const nullable = (type: JsonSchemaTypeName): JsonSchemaTypeName | JsonSchemaTypeName[] =>
    field.nillable ? ['null', type] : type;
  const text = (): JsonSchema => ({
    type: nullable('string'),
    ...(field.length > 0 ? { maxLength: field.length } : {}),
  });

  switch (field.type) {
    case 'address':
    case 'location':
      return undefined;
    case 'boolean':
      return { type: nullable('boolean') };
    case 'int':
    case 'long':
      return { type: nullable('integer'), ...digitBounds(field.digits) };
    case 'double':
    case 'currency':
      return { type: nullable('number'), ...precisionBounds(field) };
    case 'percent':
      return {
        description: 'Percent: 12.5 means 12.5 %',
        type: nullable('number'),
        ...precisionBounds(field),
      };
    case 'date':
      return { type: nullable('string'), format: 'date' };
    case 'datetime':
      return { type: nullable('string'), format: 'date-time', airbyte_type: 'timestamp_with_timezone' };
    case 'time':
      // Salesforce stores a time of day that no time zone adjusts (HH:mm:ss.SSSZ on the wire):
      // https://developer.salesforce.com/docs/atlas.en-us.api_rest.meta/api_rest/intro_valid_date_formats.htm
      return {
        description: 'Time of day (HH:mm:ss.SSS), not adjusted for time zones',
        type: nullable('string'),
        format: 'time',
        airbyte_type: 'time_without_timezone',
      };
    case 'email':
      return { ...text(), format: 'email' };
    case 'id':
      return {
        description: 'Salesforce record Id (15 or 18 characters)',
        type: nullable('string'),
        minLength: 15,
        maxLength: 18,
        pattern: SALESFORCE_ID_PATTERN,
      };
    case 'reference':
      return {
        description: lookupDescription(field),
        type: nullable('string'),
        minLength: 15,
        maxLength: 18,
        pattern: SALESFORCE_ID_PATTERN,
      };
    case 'picklist':
    case 'combobox':
      return { ...text(), ...picklistValues(field) };
    case 'multipicklist':
      return multipicklistSchema(field);
    case 'textarea':
      return field.htmlFormatted ? { description: 'Rich text (HTML)', ...text() } : text();
    case 'base64':
      // `length` counts decoded bytes, so it is no bound on the base64 text.
      return { type: nullable('string'), contentEncoding: 'base64' };
    case 'string':
    case 'phone':
    case 'encryptedstring':
    case 'anyType':
    case 'datacategorygroupreference':
    case 'complexvalue':
    case 'json':
      return text();
    // `url` stays a plain string: Salesforce accepts `www.example.com`, which JSON Schema's `uri`
    // format (scheme required) would reject.
    case 'url':
      return text();
    default:
      return { description: `Salesforce type ${field.type}`, ...text() };
  }
}

/** `int` fields carry their number of digits; `long` ones may exceed what a JS number holds exactly. */
function digitBounds(digits: number): JsonSchema {
  if (digits <= 0 || digits > MAX_EXACT_POWER_OF_TEN) return {};
  const max = 10 ** digits - 1;
  return { minimum: -max, maximum: max };
}

/**
 * `precision` counts all digits and `scale` those after the point, so the integer part has
 * precision − scale digits; larger values fail with NUMBER_OUTSIDE_VALID_RANGE.
 */
function precisionBounds(field: DescribeField): JsonSchema {
  const integerDigits = field.precision - field.scale;
  if (field.precision <= 0 || integerDigits < 0 || integerDigits > MAX_EXACT_POWER_OF_TEN) return {};
  const bound = 10 ** integerDigits;
  return { exclusiveMinimum: -bound, exclusiveMaximum: bound };
}

/** Active values only: Salesforce refuses inactive ones on a restricted picklist. */
function activeValues(field: DescribeField): string[] {
  return field.picklistValues.filter((v) => v.active).map((v) => v.value);
}

/**
 * A restricted picklist accepts only its active values (INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST
 * otherwise), so they form an `enum`; an unrestricted one accepts any text, and its values are
 * `examples` a UI can offer.
 */
function picklistValues(field: DescribeField): JsonSchema {
  const values = activeValues(field);
  if (field.restrictedPicklist) return { enum: field.nillable ? [...values, null] : values };
  return values.length > 0 ? { examples: values } : {};
}

/**
 * Salesforce takes a multi-select value as one `;`-separated string; the writer also joins an
 * array of values (PRODUCT.md §6), so the schema is a union, which Airbyte writes as `oneOf`.
 */
function multipicklistSchema(field: DescribeField): JsonSchema {
  const values = activeValues(field);
  const item: JsonSchema = { type: 'string' };
  if (field.restrictedPicklist) item.enum = values;
  else if (values.length > 0) item.examples = values;
  const options: JsonSchema[] = [
    { type: 'string', ...(field.length > 0 ? { maxLength: field.length } : {}) },
    { type: 'array', items: item },
  ];
  return {
    description: 'Values separated by ";" (e.g. "A;B"), or an array of values',
    oneOf: field.nillable ? [{ type: 'null' }, ...options] : options,
  };
}

/** How to fill a lookup: an Id here, or an External ID of the parent under the relationship name. */
function lookupDescription(field: DescribeField): string {
  const targets = field.referenceTo.join(' or ');
  if (field.referenceTo.length === 1 && field.relationshipName) {
    return `Lookup to ${targets}: its record Id, or {"<External ID field>": value} under "${field.relationshipName}"`;
  }
  return `Lookup to ${targets || 'a record'} (record Id)`;
}
