/**
 * Shapes of Salesforce REST responses, as documented in ../shared/reference/salesforce-api.md
 * and seen in the Describe fixtures. Only the members the connector reads are typed; Salesforce
 * sends many more and every one of them is tolerated.
 */

/** Every Describe field type Salesforce documents (Apex Schema.DisplayType). */
export type SalesforceFieldType =
  | 'id'
  | 'string'
  | 'textarea'
  | 'email'
  | 'phone'
  | 'url'
  | 'picklist'
  | 'multipicklist'
  | 'combobox'
  | 'boolean'
  | 'int'
  | 'long'
  | 'double'
  | 'currency'
  | 'percent'
  | 'date'
  | 'datetime'
  | 'time'
  | 'reference'
  | 'address'
  | 'location'
  | 'base64'
  | 'encryptedstring'
  | 'anyType'
  | 'datacategorygroupreference'
  | 'complexvalue'
  | 'json';

/** One entry of a field's `picklistValues`. */
export interface PicklistValue {
  active: boolean;
  defaultValue: boolean;
  label: string | null;
  value: string;
  validFor?: string | null;
}

/** One field of an sObject Describe (`fields[]`). */
export interface DescribeField {
  name: string;
  label: string;
  /** A {@link SalesforceFieldType}; kept open because newer API versions add types. */
  type: string;
  soapType?: string;
  length: number;
  byteLength?: number;
  precision: number;
  scale: number;
  digits: number;
  nillable: boolean;
  createable: boolean;
  updateable: boolean;
  defaultedOnCreate: boolean;
  externalId: boolean;
  idLookup: boolean;
  unique: boolean;
  caseSensitive?: boolean;
  calculated: boolean;
  autoNumber: boolean;
  /** SOQL can filter on it (needed to look Ids up by this field). */
  filterable?: boolean;
  custom?: boolean;
  nameField?: boolean;
  compoundFieldName?: string | null;
  deprecatedAndHidden?: boolean;
  restrictedPicklist: boolean;
  picklistValues: PicklistValue[];
  referenceTo: string[];
  relationshipName: string | null;
  polymorphicForeignKey?: boolean;
  defaultValue?: unknown;
  htmlFormatted?: boolean;
}

/** `GET /sobjects/{name}/describe/` */
export interface DescribeSObject {
  name: string;
  label: string;
  labelPlural?: string;
  keyPrefix: string | null;
  custom: boolean;
  customSetting?: boolean;
  createable: boolean;
  updateable: boolean;
  deletable: boolean;
  queryable: boolean;
  fields: DescribeField[];
}

/** One entry of the global Describe's `sobjects[]`. */
export interface GlobalSObject {
  name: string;
  label: string;
  keyPrefix: string | null;
  custom: boolean;
  customSetting?: boolean;
  createable: boolean;
  updateable: boolean;
  deletable: boolean;
  queryable: boolean;
}

/** `GET /sobjects/` */
export interface DescribeGlobal {
  encoding?: string;
  maxBatchSize?: number;
  sobjects: GlobalSObject[];
}

/** `GET /services/data/` entries. */
export interface ApiVersion {
  label: string;
  url: string;
  version: string;
}

/** A per-record error inside collection results (`statusCode`), or a request-level error (`errorCode`). */
export interface SalesforceRecordError {
  statusCode: string;
  message: string;
  fields: string[];
}

/** Per-record result of sObject Collections create/update/delete, and upsert (with `created`). */
export interface SaveResult {
  id?: string;
  success: boolean;
  errors: SalesforceRecordError[];
  created?: boolean;
}

/** `GET /query` response page. */
export interface QueryResult<T = Record<string, unknown>> {
  totalSize: number;
  done: boolean;
  nextRecordsUrl?: string;
  records: T[];
}

/** API usage from the `Sforce-Limit-Info` response header (`api-usage=used/max`). */
export interface ApiUsage {
  used: number;
  max: number;
}
