/**
 * The metadata the emulator serves: real Describe responses from ../shared/salesforce-fixtures
 * (see its SOURCE.txt), loaded once, plus the few documented additions:
 * - a custom External ID text field `External_ID__c` on Account, Contact, Lead and Case;
 * - global-describe entries for the custom objects served (absent from the recorded global describe);
 * - the real Lead key prefix `00Q` in place of the hand-appended entry's null (SOURCE.txt item 6).
 */
import { existsSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/** Raw Describe JSON (sObject describe). */
export type DescribeJson = Record<string, unknown> & { name: string; fields: Array<Record<string, unknown>> };

/** Objects served, each from the fixture file of the same name (describe-<Name>.json). */
export const SERVED_OBJECTS = [
  'Account',
  'Contact',
  'Lead',
  'Case',
  'Custom__c',
  'With_External_Id__c',
] as const;

/** Objects that get the added External_ID__c field. */
export const OBJECTS_WITH_ADDED_EXTERNAL_ID = ['Account', 'Contact', 'Lead', 'Case'] as const;

const PACKAGE_NAME = 'destination-salesforce-service-cloud';

/** Repository root: the nearest ancestor of this module holding the project's package.json. */
export function findRepositoryRoot(from: string = dirname(fileURLToPath(import.meta.url))): string {
  let dir = resolve(from);
  for (;;) {
    const pkg = join(dir, 'package.json');
    if (existsSync(pkg)) {
      try {
        const parsed = JSON.parse(readFileSync(pkg, 'utf8')) as { name?: unknown };
        if (parsed.name === PACKAGE_NAME) return dir;
      } catch {
        // not the project's package.json; keep walking up
      }
    }
    const parent = dirname(dir);
    if (parent === dir) throw new Error(`package.json named ${PACKAGE_NAME} not found above ${from}`);
    dir = parent;
  }
}

/**
 * The Describe fixtures cannot be loaded, so the emulator cannot start; the message is one line that
 * says where it looked and how to point it elsewhere.
 */
export class FixturesError extends Error {
  override readonly name = 'FixturesError';
}

const HOW_TO_POINT =
  'set SALESFORCE_FIXTURES_DIR (or pass --fixtures / options.fixturesDir) to a folder of describe-*.json files';

/** The fixtures directory: explicit option, else env SALESFORCE_FIXTURES_DIR, else <root>/../shared/salesforce-fixtures. */
export function resolveFixturesDir(explicit?: string): string {
  if (explicit !== undefined) return resolve(explicit);
  const fromEnv = process.env.SALESFORCE_FIXTURES_DIR;
  if (fromEnv !== undefined && fromEnv !== '') return resolve(fromEnv);
  let root: string;
  try {
    root = findRepositoryRoot();
  } catch (e) {
    throw new FixturesError(
      `Salesforce Describe fixtures: no default directory (${e instanceof Error ? e.message : String(e)}); ${HOW_TO_POINT}`,
    );
  }
  return join(root, '..', 'shared', 'salesforce-fixtures');
}

function readJson(dir: string, file: string): unknown {
  const path = join(dir, file);
  if (!existsSync(path))
    throw new FixturesError(`Salesforce Describe fixtures: ${dir} has no ${file}; ${HOW_TO_POINT}`);
  try {
    return JSON.parse(readFileSync(path, 'utf8'));
  } catch (e) {
    throw new FixturesError(
      `Salesforce Describe fixtures: cannot read ${path} (${e instanceof Error ? e.message : String(e)}); ${HOW_TO_POINT}`,
    );
  }
}

/**
 * The added `External_ID__c` field for one describe: the key set is copied from the describe's own
 * fields (every field of one describe carries the same keys, reference §2.3), values are those of a
 * custom Text(255) field marked External ID + Unique (case-sensitive).
 */
export function externalIdField(describe: DescribeJson): Record<string, unknown> {
  const values: Record<string, unknown> = {
    aggregatable: true,
    aiPredictionField: false,
    autoNumber: false,
    byteLength: 765,
    calculated: false,
    calculatedFormula: null,
    cascadeDelete: false,
    caseSensitive: true,
    compoundFieldName: null,
    controllerName: null,
    createable: true,
    custom: true,
    defaultValue: null,
    defaultValueFormula: null,
    defaultedOnCreate: false,
    dependentPicklist: false,
    deprecatedAndHidden: false,
    digits: 0,
    displayLocationInDecimal: false,
    encrypted: false,
    externalId: true,
    extraTypeInfo: null,
    filterable: true,
    filteredLookupInfo: null,
    formulaTreatNullNumberAsZero: false,
    groupable: true,
    highScaleNumber: false,
    htmlFormatted: false,
    idLookup: true,
    inlineHelpText: null,
    label: 'External ID',
    length: 255,
    mask: null,
    maskType: null,
    name: 'External_ID__c',
    nameField: false,
    namePointing: false,
    nillable: true,
    permissionable: true,
    picklistValues: [],
    polymorphicForeignKey: false,
    precision: 0,
    queryByDistance: false,
    referenceTargetField: null,
    referenceTo: [],
    relationshipName: null,
    relationshipOrder: null,
    restrictedDelete: false,
    restrictedPicklist: false,
    scale: 0,
    searchPrefilterable: false,
    soapType: 'xsd:string',
    sortable: true,
    type: 'string',
    unique: true,
    updateable: true,
    writeRequiresMasterRead: false,
  };
  const template = describe.fields[0];
  if (template === undefined) return values;
  const field: Record<string, unknown> = {};
  for (const key of Object.keys(template)) {
    field[key] = key in values ? values[key] : null;
  }
  return field;
}

/** Global-describe entry for a describe that the recorded global describe lacks (same key set as its entries). */
function globalEntryFor(describe: DescribeJson, template: Record<string, unknown>): Record<string, unknown> {
  const entry: Record<string, unknown> = {};
  for (const key of Object.keys(template)) {
    entry[key] = key in describe ? describe[key] : null;
  }
  return entry;
}

/** Everything loaded from the fixtures, parsed once. */
export interface Metadata {
  dir: string;
  /** Served sObject describes, with the additions, by exact name. */
  describes: Map<string, DescribeJson>;
  /** Global describe with the additions. */
  global: Record<string, unknown>;
}

/** Load and prepare the fixtures (about 10 ms); a missing or unreadable fixture is a {@link FixturesError}. */
export function loadMetadata(dir: string): Metadata {
  if (!existsSync(dir) || !statSync(dir).isDirectory())
    throw new FixturesError(`Salesforce Describe fixtures not found: no directory ${dir}; ${HOW_TO_POINT}`);
  const describes = new Map<string, DescribeJson>();
  for (const name of SERVED_OBJECTS) {
    const describe = readJson(dir, `describe-${name}.json`) as DescribeJson;
    if ((OBJECTS_WITH_ADDED_EXTERNAL_ID as readonly string[]).includes(name)) {
      describe.fields.push(externalIdField(describe));
    }
    describes.set(name, describe);
  }
  const global = readJson(dir, 'describe-global.json') as Record<string, unknown> & {
    sobjects: Array<Record<string, unknown>>;
  };
  const template = global.sobjects[0] ?? {};
  for (const entry of global.sobjects) {
    if (entry.name === 'Lead' && entry.keyPrefix === null)
      entry.keyPrefix = describes.get('Lead')?.keyPrefix ?? '00Q';
  }
  const listed = new Set(global.sobjects.map((s) => s.name));
  for (const describe of describes.values()) {
    if (!listed.has(describe.name)) global.sobjects.push(globalEntryFor(describe, template));
  }
  return { dir, describes, global };
}

const API_URL = /^\/services\/data\/v[^/]+(\/.*)?$/;
const HOST_URL = /^https?:\/\/[^/]+(\/.*)?$/;

function rewriteUrl(url: string, version: string, base: string): string {
  const api = API_URL.exec(url);
  if (api !== null) return `/services/data/v${version}${api[1] ?? ''}`;
  const host = HOST_URL.exec(url);
  return host === null ? url : `${base}${host[1] ?? ''}`;
}

/**
 * A copy of a describe (or part of one) whose `urls` objects, at any depth, name the API version and
 * the instance of the request, as Salesforce's do (reference §2.2: `/services/data/v52.0/...` at v52.0).
 * The fixtures carry the version and org host they were recorded with, or anonymised ones (`vxx.0`,
 * `orgname.my.salesforce.com`, SOURCE.txt item 3); the fixture objects themselves are left as they are.
 */
export function withRequestUrls<T>(value: T, version: string, base: string): T {
  const walk = (v: unknown, inUrls: boolean): unknown => {
    if (typeof v === 'string') return inUrls ? rewriteUrl(v, version, base) : v;
    if (Array.isArray(v)) return v.map((x) => walk(x, false));
    if (typeof v !== 'object' || v === null) return v;
    const out: Record<string, unknown> = {};
    for (const [k, x] of Object.entries(v)) out[k] = walk(x, inUrls || k === 'urls');
    return out;
  };
  return walk(value, false) as T;
}

const SEASONS = ['Summer', 'Winter', 'Spring'] as const;

/**
 * Release label of an API version: three releases a year, v31.0 = Summer '14 … v61.0 = Summer '24,
 * v62.0 = Winter '25, v66.0 = Spring '26 (reference §2.1).
 */
export function versionLabel(version: string): string {
  const n = Math.round(Number(version)) - 31;
  const cycle = Math.floor(n / 3);
  const season = SEASONS[((n % 3) + 3) % 3] ?? 'Summer';
  const year = 14 + cycle + (season === 'Summer' ? 0 : 1);
  return `${season} '${String(year).padStart(2, '0')}`;
}

/** Default versions offered: 31.0 … 66.0. */
export function defaultApiVersions(): string[] {
  const versions: string[] = [];
  for (let v = 31; v <= 66; v++) versions.push(`${v}.0`);
  return versions;
}
