/**
 * Airbyte's spec rules (CAT TestSpec in test_core.py, summarised in
 * ../shared/reference/airbyte-protocol-notes.md §3.5) applied to spec/spec.json, which the connector
 * prints verbatim as its SPEC. Each rule is a function returning its violations; each test asserts the
 * real spec has none AND that a deliberately broken copy has some, so no rule can pass vacuously.
 *
 * Not here: test_match_expected (integration_tests/container.test.ts compares the image's SPEC with
 * spec.json), test_backward_compatibility (no previous release yet), and test_date_pattern /
 * test_date_format (CAT only warns).
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { describe, expect, it } from '@jest/globals';
import { Ajv } from 'ajv';
import addFormats from 'ajv-formats';
import nunjucks from 'nunjucks';

type Json = Record<string, unknown>;
type Path = (string | number)[];
interface SchemaNode {
  node: Json;
  path: Path;
}
interface Spec extends Json {
  connectionSpecification: Json;
  advanced_auth?: {
    predicate_key?: string[];
    predicate_value?: string;
    oauth_config_specification?: Record<string, { properties?: Record<string, Json> } | undefined>;
  };
}

const specText = readFileSync(new URL('../spec/spec.json', import.meta.url), 'utf8');
const loadSpec = (): Spec => JSON.parse(specText) as Spec;

const applyFormats =
  (addFormats as unknown as { default?: (ajv: Ajv) => Ajv }).default ??
  (addFormats as unknown as (ajv: Ajv) => Ajv);

const isObject = (value: unknown): value is Json =>
  typeof value === 'object' && value !== null && !Array.isArray(value);
const show = (path: Path): string => `/${path.join('/')}`;

// Keywords whose values are subschemas (everything else — default, enum, examples, const — is data).
const SUBSCHEMA_MAPS = ['properties', 'patternProperties', 'definitions', '$defs', 'dependentSchemas'];
const SUBSCHEMA_LISTS = ['oneOf', 'anyOf', 'allOf', 'prefixItems'];
const SUBSCHEMA_SINGLE = [
  'not',
  'if',
  'then',
  'else',
  'additionalProperties',
  'additionalItems',
  'contains',
  'propertyNames',
];

/** Every schema node under `root` (not data such as `default` or `examples`), with its path. */
function schemaNodes(root: unknown, path: Path = []): SchemaNode[] {
  if (!isObject(root)) return [];
  const nodes: SchemaNode[] = [{ node: root, path }];
  for (const [key, value] of Object.entries(root)) {
    if (SUBSCHEMA_MAPS.includes(key) && isObject(value)) {
      for (const [name, sub] of Object.entries(value)) nodes.push(...schemaNodes(sub, [...path, key, name]));
    } else if ((SUBSCHEMA_LISTS.includes(key) || key === 'items') && Array.isArray(value)) {
      value.forEach((sub, i) => nodes.push(...schemaNodes(sub, [...path, key, i])));
    } else if (SUBSCHEMA_SINGLE.includes(key) || key === 'items') {
      nodes.push(...schemaNodes(value, [...path, key]));
    }
  }
  return nodes;
}

/** Every value of `key` anywhere in `value`, data included (CAT's find_all_values_for_key_in_schema). */
function valuesOfKey(value: unknown, key: string, path: Path = []): { path: Path; value: unknown }[] {
  if (Array.isArray(value)) return value.flatMap((v, i) => valuesOfKey(v, key, [...path, i]));
  if (!isObject(value)) return [];
  return Object.entries(value).flatMap(([k, v]) => [
    ...(k === key ? [{ path: [...path, k], value: v }] : []),
    ...valuesOfKey(v, key, [...path, k]),
  ]);
}

const isPropertyNode = (path: Path): boolean => path.length >= 2 && path[path.length - 2] === 'properties';
const typesOf = (node: Json): unknown[] =>
  Array.isArray(node.type) ? (node.type as unknown[]) : node.type === undefined ? [] : [node.type];

// ---- the rules ------------------------------------------------------------------------------------

/** A sample config per credentials branch, and one with every top-level field set. */
const SAMPLE_CONFIGS: Record<string, Json> = {
  oauth2_refresh_token: {
    credentials: {
      auth_type: 'oauth2_refresh_token',
      client_id: '3MVG9-client-id',
      client_secret: 'client-secret',
      refresh_token: '5Aep861-refresh-token',
    },
    salesforce_object: 'Contact',
  },
  jwt_bearer: {
    credentials: {
      auth_type: 'jwt_bearer',
      client_id: '3MVG9-client-id',
      username: 'integration@example.com',
      private_key: '-----BEGIN PRIVATE KEY-----\nMIIE…\n-----END PRIVATE KEY-----\n',
    },
    is_sandbox: true,
    salesforce_object: 'Case',
  },
  client_credentials: {
    credentials: { auth_type: 'client_credentials', client_id: '3MVG9-client-id', client_secret: 'secret' },
    login_url: 'https://mycompany.my.salesforce.com',
    salesforce_object: 'Account',
  },
  every_field: {
    credentials: { auth_type: 'oauth2_refresh_token', client_id: 'id', refresh_token: 'token' },
    is_sandbox: false,
    login_url: 'http://127.0.0.1:8080',
    instance_url: 'https://mycompany.my.salesforce.com',
    api_version: 'v61.0',
    salesforce_object: 'Custom Object',
    custom_object_api_name: 'Support_Ticket__c',
    sync_mode: 'mirror',
    external_id_field: 'External_ID__c',
    field_mappings: [{ source: 'last_name', destination: 'LastName' }],
    streams: [
      {
        stream_name: 'leads',
        stream_namespace: 'crm',
        salesforce_object: 'Lead',
        sync_mode: 'add',
        external_id_field: 'Email',
        field_mappings: [{ source: 'company', destination: 'Company' }],
      },
    ],
    advanced: {
      records_per_request: 200,
      parallel_requests: 2,
      max_parallel_requests: 8,
      write_api: 'bulk',
      bulk_threshold_rows: 5000,
      null_handling: 'skip',
      assignment_rule: 'none',
      duplicate_rule_allow_save: true,
      mirror_max_delete_percent: 10,
      mirror_allow_empty_source: false,
      dry_run: true,
      api_budget_percent: 90,
      rate_limit_max_wait_seconds: 60,
      request_timeout_seconds: 30,
      lost_answer_wait_seconds: 900,
      rejected_records_path: '/airbyte/rejected.jsonl',
    },
  },
};

/** test_config_match_spec: the sample configs validate, and together they cover every credentials branch. */
function configViolations(spec: Spec): string[] {
  const ajv = new Ajv({ allErrors: true, strict: false, allowUnionTypes: true });
  applyFormats(ajv);
  const validate = ajv.compile(spec.connectionSpecification);
  const violations: string[] = [];
  for (const [name, config] of Object.entries(SAMPLE_CONFIGS)) {
    if (!validate(structuredClone(config))) {
      violations.push(`${name}: ${ajv.errorsText(validate.errors)}`);
    }
  }
  const credentials = (spec.connectionSpecification.properties as Json | undefined)?.credentials;
  const variants = isObject(credentials) && Array.isArray(credentials.oneOf) ? credentials.oneOf : [];
  const covered = new Set(
    Object.values(SAMPLE_CONFIGS).map((c) => (c.credentials as Json | undefined)?.auth_type),
  );
  for (const variant of variants as Json[]) {
    const authType = ((variant.properties as Json | undefined)?.auth_type as Json | undefined)?.const;
    if (!covered.has(authType))
      violations.push(`no sample config for credentials branch ${String(authType)}`);
  }
  return violations;
}

/** test_enum_usage: no enum lists a value twice. */
function enumViolations(spec: Spec): string[] {
  return schemaNodes(spec.connectionSpecification)
    .filter(({ node }) => Array.isArray(node.enum))
    .flatMap(({ node, path }) => {
      const values = (node.enum as unknown[]).map((v) => JSON.stringify(v));
      const duplicates = values.filter((v, i) => values.indexOf(v) !== i);
      return duplicates.length > 0 ? [`${show(path)}: duplicate enum values ${duplicates.join(', ')}`] : [];
    });
}

/** test_oneof_usage: parent type object, variants with properties, exactly one common const property, default/enum = const. */
function oneOfViolations(spec: Spec): string[] {
  const violations: string[] = [];
  for (const { node, path } of schemaNodes(spec.connectionSpecification)) {
    for (const keyword of ['oneOf', 'anyOf'] as const) {
      const variants = node[keyword];
      if (!Array.isArray(variants)) continue;
      const where = show([...path, keyword]);
      if (node.type !== 'object') violations.push(`${where}: the parent's type must be object`);
      const props = variants.map((v) => (isObject(v) && isObject(v.properties) ? v.properties : undefined));
      if (props.some((p) => p === undefined)) {
        violations.push(`${where}: every variant must have properties`);
        continue;
      }
      const defined = props as Json[];
      const common = Object.keys(defined[0] ?? {}).filter((k) => defined.every((p) => k in p));
      const constProps = common.filter((k) => defined.every((p) => isObject(p[k]) && 'const' in p[k]));
      if (constProps.length !== 1) {
        violations.push(
          `${where}: exactly one common const property expected, found [${constProps.join(', ')}]`,
        );
        continue;
      }
      const discriminator = constProps[0]!;
      const consts = defined.map((p, n) => {
        const prop = p[discriminator] as Json;
        const at = `${where}/${n}/properties/${discriminator}`;
        if ('enum' in prop) {
          const values = prop.enum as unknown[];
          if (values.length !== 1 || values[0] !== prop.const) violations.push(`${at}: enum must be [const]`);
        }
        if ('default' in prop && prop.default !== prop.const)
          violations.push(`${at}: default must equal const`);
        return JSON.stringify(prop.const);
      });
      if (new Set(consts).size !== consts.length)
        violations.push(`${where}: the ${discriminator} consts must differ between variants`);
    }
  }
  return violations;
}

/**
 * test_secret_is_properly_marked, with CAT's keyword list (secret_property_names). CAT compares whole
 * names; this matches names that contain a keyword (private_key, api_key, …), which is stricter. A
 * property that can hold a string or number must be airbyte_secret; nothing that cannot (boolean,
 * object, array, const) may be, whatever its name.
 */
const SECRET_KEYWORDS = [
  'client_token',
  'access_token',
  'api_token',
  'token',
  'secret',
  'client_secret',
  'password',
  'key',
  'service_account_info',
  'service_account',
  'tenant_id',
  'certificate',
  'jwt',
  'credentials',
  'app_id',
  'appid',
  'refresh_token',
];
const RESERVED_PATH_PARTS = ['anyOf', 'oneOf', 'allOf', 'not', 'properties', 'items', 'type', 'prefixItems'];

function canHoldSecret(node: Json): boolean {
  const holdsScalar = typesOf(node).some((t) => t === 'string' || t === 'integer' || t === 'number');
  return holdsScalar && !node.const;
}

function secretViolations(spec: Spec): string[] {
  const violations: string[] = [];
  for (const { node, path } of schemaNodes(spec.connectionSpecification)) {
    if (path.length === 0) continue;
    const marked = node.airbyte_secret === true;
    if (marked && !canHoldSecret(node)) {
      violations.push(`${show(path)}: airbyte_secret on a field that cannot hold a secret`);
      continue;
    }
    if (node.type === undefined) continue;
    const name = [...path]
      .reverse()
      .find((part) => typeof part === 'string' && !RESERVED_PATH_PARTS.includes(part)) as string | undefined;
    const secretName = name !== undefined && SECRET_KEYWORDS.some((k) => name.toLowerCase().includes(k));
    if (secretName && canHoldSecret(node) && !marked) {
      violations.push(`${show(path)}: looks like a secret but is not airbyte_secret`);
    }
  }
  return violations;
}

/** test_property_type_is_not_array: a property's type is one type, or [type, "null"]. */
function propertyTypeViolations(spec: Spec): string[] {
  return schemaNodes(spec.connectionSpecification)
    .filter(({ node, path }) => isPropertyNode(path) && Array.isArray(node.type))
    .filter(({ node }) => {
      const types = node.type as unknown[];
      return !(types.length === 1 || (types.length === 2 && types.includes('null')));
    })
    .map(({ node, path }) => `${show(path)}: type ${JSON.stringify(node.type)}`);
}

/** test_object_not_empty: every object below the root has properties (or a oneOf). */
function emptyObjectViolations(spec: Spec): string[] {
  return schemaNodes(spec.connectionSpecification)
    .filter(({ node, path }) => path.length > 0 && node.type === 'object')
    .filter(
      ({ node }) =>
        !('oneOf' in node) && (!isObject(node.properties) || Object.keys(node.properties).length === 0),
    )
    .map(({ path }) => `${show(path)}: object without properties`);
}

/** test_array_type: items is one schema of type object, string, number or integer, or an enum. */
function arrayTypeViolations(spec: Spec): string[] {
  return schemaNodes(spec.connectionSpecification)
    .filter(({ node }) => node.type === 'array' && node.items !== undefined)
    .flatMap(({ node, path }) => {
      const items = node.items;
      if (!isObject(items)) return [`${show(path)}: items must be a single schema`];
      const ok = ['object', 'string', 'number', 'integer'].includes(items.type as string) || 'enum' in items;
      return ok ? [] : [`${show(path)}: items of type ${JSON.stringify(items.type)}`];
    });
}

/** test_forbidden_complex_types: none of these keywords on any schema (a property may be named so). */
const FORBIDDEN_KEYWORDS = [
  'not',
  'anyOf',
  'patternProperties',
  'prefixItems',
  'allOf',
  'if',
  'then',
  'else',
  'dependentSchemas',
  'dependentRequired',
];
function forbiddenKeywordViolations(spec: Spec): string[] {
  return schemaNodes(spec.connectionSpecification).flatMap(({ node, path }) =>
    FORBIDDEN_KEYWORDS.filter((k) => k in node).map((k) => `${show(path)}: ${k}`),
  );
}

/** test_duplicate_order: within one object's properties, no two in the same group share an order. */
function duplicateOrderViolations(spec: Spec): string[] {
  const violations: string[] = [];
  for (const { node, path } of schemaNodes(spec.connectionSpecification)) {
    if (node.type !== 'object' || !isObject(node.properties)) continue;
    const seen = new Map<string, string>();
    for (const [name, prop] of Object.entries(node.properties)) {
      if (!isObject(prop) || prop.order === undefined) continue;
      const slot = `${JSON.stringify(prop.group ?? '')}#${JSON.stringify(prop.order)}`;
      const other = seen.get(slot);
      if (other !== undefined) {
        violations.push(
          `${show([...path, 'properties'])}: ${other} and ${name} share order ${JSON.stringify(prop.order)}`,
        );
      }
      seen.set(slot, name);
    }
  }
  return violations;
}

/**
 * Not a CAT rule, but the form's reading order: within one object (and group) the orders are 0, 1, 2, …
 * with no gap and no property left without one, so a new setting cannot land in a random place.
 */
function orderSequenceViolations(spec: Spec): string[] {
  const violations: string[] = [];
  for (const { node, path } of schemaNodes(spec.connectionSpecification)) {
    if (!isObject(node.properties)) continue;
    const byGroup = new Map<string, unknown[]>();
    for (const [name, prop] of Object.entries(node.properties)) {
      if (!isObject(prop) || !Number.isInteger(prop.order)) {
        violations.push(`${show([...path, 'properties', name])}: no integer order`);
        continue;
      }
      const group = JSON.stringify(prop.group ?? '');
      byGroup.set(group, [...(byGroup.get(group) ?? []), prop.order]);
    }
    for (const orders of byGroup.values()) {
      const sorted = (orders as number[]).slice().sort((a, b) => a - b);
      if (sorted.some((order, i) => order !== i))
        violations.push(
          `${show([...path, 'properties'])}: orders ${sorted.join(', ')} are not 0…${sorted.length - 1}`,
        );
    }
  }
  return violations;
}

/**
 * Not a CAT rule: every property, at any depth (oneOf branches and array items included), and every
 * oneOf branch has a title and a description: the form shows the title as the label and the
 * description as its help, and a field without them leaves a new user guessing.
 */
function titleDescriptionViolations(spec: Spec): string[] {
  const isBranch = (path: Path): boolean => path.length >= 2 && path[path.length - 2] === 'oneOf';
  return schemaNodes(spec.connectionSpecification)
    .filter(({ path }) => isPropertyNode(path) || isBranch(path))
    .flatMap(({ node, path }) =>
      (['title', 'description'] as const)
        .filter((key) => {
          const text = node[key];
          return typeof text !== 'string' || text.trim() === '';
        })
        .map((key) => `${show(path)}: no ${key}`),
    );
}

/** test_nested_group: `group` only on top-level properties. */
function nestedGroupViolations(spec: Spec): string[] {
  return schemaNodes(spec.connectionSpecification)
    .filter(({ node }) => 'group' in node)
    .filter(({ path }) => !(path.length === 2 && path[0] === 'properties'))
    .map(({ path }) => `${show(path)}: group below the top level`);
}

/** test_display_type: only on a field with oneOf, and only "dropdown" or "radio". */
function displayTypeViolations(spec: Spec): string[] {
  return schemaNodes(spec.connectionSpecification)
    .filter(({ node }) => 'display_type' in node)
    .flatMap(({ node, path }) => [
      ...('oneOf' in node ? [] : [`${show(path)}: display_type without oneOf`]),
      ...(node.display_type === 'dropdown' || node.display_type === 'radio'
        ? []
        : [`${show(path)}: display_type ${JSON.stringify(node.display_type)}`]),
    ]);
}

/** test_defined_refs_exist_in_json_spec_file: CAT refuses any $ref in the spec file (it must be inlined). */
function refViolations(spec: Spec): string[] {
  return valuesOfKey(spec, '$ref').map(({ path, value }) => `${show(path)}: ${JSON.stringify(value)}`);
}

/** Leaf paths a config can have, oneOf variants flattened (CAT's get_expected_schema_structure). */
function configPaths(schema: Json, prefix = ''): string[] {
  if (Array.isArray(schema.oneOf)) {
    return (schema.oneOf as Json[]).flatMap((variant) => configPaths({ type: 'object', ...variant }, prefix));
  }
  const types = typesOf(schema);
  if (types.length === 0 || types.includes('object')) {
    if (!isObject(schema.properties) || Object.keys(schema.properties).length === 0)
      return prefix ? [prefix] : [];
    return Object.entries(schema.properties).flatMap(([k, v]) =>
      isObject(v) ? configPaths(v, `${prefix}/${k}`) : [],
    );
  }
  if (types.includes('array')) return configPaths(isObject(schema.items) ? schema.items : {}, `${prefix}/[]`);
  return [prefix];
}

/**
 * test_oauth_flow_parameters: predicate_key and every path_in_connector_config exist in the spec.
 * Stricter than CAT: paths inside the predicate's object must exist in the very variant that
 * predicate_value selects, and predicate_value must be that variant's const.
 */
function oauthPathViolations(spec: Spec): string[] {
  const auth = spec.advanced_auth;
  if (!auth) return [];
  const violations: string[] = [];
  const paths = new Set(configPaths(spec.connectionSpecification));
  const wanted: string[][] = [];
  if (auth.predicate_key) wanted.push(auth.predicate_key);
  const oauth = auth.oauth_config_specification ?? {};
  for (const part of [
    'oauth_user_input_from_connector_config_specification',
    'complete_oauth_output_specification',
    'complete_oauth_server_output_specification',
  ]) {
    for (const prop of Object.values(oauth[part]?.properties ?? {})) {
      if (Array.isArray(prop.path_in_connector_config))
        wanted.push(prop.path_in_connector_config as string[]);
    }
  }
  for (const path of wanted) {
    if (!paths.has(`/${path.join('/')}`))
      violations.push(`/${path.join('/')} is not in connectionSpecification`);
  }
  const key = auth.predicate_key;
  if (key && key.length >= 2) {
    const parent = key.slice(0, -1);
    let node: unknown = spec.connectionSpecification;
    for (const part of parent)
      node = isObject(node) && isObject(node.properties) ? node.properties[part] : undefined;
    const variants = isObject(node) && Array.isArray(node.oneOf) ? (node.oneOf as Json[]) : [];
    const selected = variants.find(
      (v) =>
        isObject(v.properties) &&
        isObject(v.properties[key[key.length - 1]!]) &&
        (v.properties[key[key.length - 1]!] as Json).const === auth.predicate_value,
    );
    if (!selected) {
      violations.push(
        `predicate_value ${String(auth.predicate_value)} is no variant's const at /${key.join('/')}`,
      );
    } else {
      const variantPaths = new Set(configPaths({ type: 'object', ...selected }, `/${parent.join('/')}`));
      for (const path of wanted.filter((p) => parent.every((part, i) => p[i] === part))) {
        if (!variantPaths.has(`/${path.join('/')}`))
          violations.push(`/${path.join('/')} is not in the ${String(auth.predicate_value)} variant`);
      }
    }
  }
  return violations;
}

/** test_oauth_is_default_method: the first variant of the predicate's oneOf is the OAuth one. */
function oauthDefaultViolations(spec: Spec): string[] {
  const auth = spec.advanced_auth;
  if (!auth?.predicate_key || auth.predicate_key.length < 2) return [];
  const [field, ...rest] = auth.predicate_key;
  const props = spec.connectionSpecification.properties as Json;
  const first = (props[field!] as Json | undefined)?.oneOf;
  let node: unknown = Array.isArray(first) ? first[0] : undefined;
  for (const part of rest)
    node = isObject(node) && isObject(node.properties) ? node.properties[part] : undefined;
  const constValue = isObject(node) ? node.const : undefined;
  return constValue === auth.predicate_value
    ? []
    : [
        `the default (first) ${field} option is ${JSON.stringify(constValue)}, not ${String(auth.predicate_value)}`,
      ];
}

/** test_additional_properties_is_true: wherever additionalProperties is set (whole spec, data included), it is true. */
function additionalPropertiesViolations(spec: Spec): string[] {
  return valuesOfKey(spec, 'additionalProperties')
    .filter(({ value }) => value !== true)
    .map(({ path, value }) => `${show(path)}: ${JSON.stringify(value)}`);
}

/** Not a CAT rule: ajv's strict mode, told Airbyte's annotation keywords, finds misspelt or unknown keywords. */
const AIRBYTE_KEYWORDS = [
  'airbyte_secret',
  'order',
  'group',
  'display_type',
  'multiline',
  'always_show',
  'airbyte_hidden',
];
function strictCompileViolations(spec: Spec): string[] {
  const ajv = new Ajv({ strict: true, strictTypes: false, strictTuples: false, allowUnionTypes: true });
  applyFormats(ajv);
  for (const keyword of AIRBYTE_KEYWORDS) ajv.addKeyword({ keyword });
  try {
    ajv.compile(spec.connectionSpecification);
    return [];
  } catch (error) {
    return [(error as Error).message];
  }
}

// ---- the tests ------------------------------------------------------------------------------------

type Mutation = (spec: Spec) => void;
const prop = (spec: Spec, ...names: string[]): Json => {
  let node: Json = spec.connectionSpecification;
  for (const name of names) node = (node.properties as Json)[name] as Json;
  return node;
};
const variant = (spec: Spec, n: number): Json => (prop(spec, 'credentials').oneOf as Json[])[n]!;
const variantProp = (spec: Spec, n: number, name: string): Json =>
  (variant(spec, n).properties as Json)[name] as Json;

interface Rule {
  name: string;
  check: (spec: Spec) => string[];
  /** Each breaks the spec in one way the rule must report. */
  breaks: Record<string, Mutation>;
}

const RULES: Rule[] = [
  {
    name: 'a sample config per credentials branch validates against connectionSpecification (fails when one does not)',
    check: configViolations,
    breaks: {
      'a new required field': (s) => (s.connectionSpecification.required as string[]).push('no_such_field'),
      'a credentials branch without a sample': (s) =>
        (prop(s, 'credentials').oneOf as Json[]).push({
          type: 'object',
          properties: { auth_type: { type: 'string', const: 'password' } },
        }),
    },
  },
  {
    name: 'no enum lists a value twice (fails on a duplicate enum value)',
    check: enumViolations,
    breaks: { 'Case twice': (s) => (prop(s, 'salesforce_object').enum as string[]).push('Case') },
  },
  {
    name: 'oneOf: parent is an object, variants have properties, one common const discriminator, default/enum equal const (fails otherwise)',
    check: oneOfViolations,
    breaks: {
      'parent not an object': (s) => void (prop(s, 'credentials').type = 'string'),
      'a variant without properties': (s) => void delete variant(s, 2).properties,
      'a variant without the const': (s) => void delete variantProp(s, 1, 'auth_type').const,
      'a second common const': (s) => {
        for (const n of [0, 1, 2])
          (variant(s, n).properties as Json).kind = { type: 'string', const: `k${n}` };
      },
      'a default unlike the const': (s) => void (variantProp(s, 0, 'auth_type').default = 'jwt_bearer'),
      'an enum unlike the const': (s) => void (variantProp(s, 0, 'auth_type').enum = ['a', 'b']),
      'two variants with one const': (s) =>
        void (variantProp(s, 1, 'auth_type').const = 'oauth2_refresh_token'),
    },
  },
  {
    name: 'secrets are airbyte_secret and non-secrets are not (fails on an unmarked refresh_token or a marked boolean/const)',
    check: secretViolations,
    breaks: {
      'refresh_token unmarked': (s) => void delete variantProp(s, 0, 'refresh_token').airbyte_secret,
      'private_key unmarked': (s) => void delete variantProp(s, 1, 'private_key').airbyte_secret,
      'a new api_key unmarked': (s) =>
        void ((s.connectionSpecification.properties as Json).api_key = { type: 'string' }),
      'a boolean marked': (s) => void (prop(s, 'is_sandbox').airbyte_secret = true),
      'a const marked': (s) => void (variantProp(s, 0, 'auth_type').airbyte_secret = true),
    },
  },
  {
    name: 'each property type is one type or [type, "null"] (fails on ["string", "integer"])',
    check: propertyTypeViolations,
    breaks: {
      'two non-null types': (s) => void (prop(s, 'login_url').type = ['string', 'integer']),
      'three types': (s) => void (prop(s, 'login_url').type = ['string', 'integer', 'null']),
    },
  },
  {
    name: 'no object below the root is empty (fails on an object without properties)',
    check: emptyObjectViolations,
    breaks: {
      'an empty object': (s) =>
        void ((s.connectionSpecification.properties as Json).extra = { type: 'object' }),
    },
  },
  {
    name: 'array items are one object, string, number or integer schema, or an enum (fails on a list or a boolean)',
    check: arrayTypeViolations,
    breaks: {
      'items as a list': (s) => void (prop(s, 'field_mappings').items = [{ type: 'string' }]),
      'boolean items': (s) => void (prop(s, 'field_mappings').items = { type: 'boolean' }),
    },
  },
  {
    name: 'no forbidden keyword (not, anyOf, allOf, if/then/else, patternProperties, …) appears (fails on anyOf)',
    check: forbiddenKeywordViolations,
    breaks: {
      anyOf: (s) => void (prop(s, 'login_url').anyOf = [{ type: 'string' }]),
      'if/then': (s) => void Object.assign(prop(s, 'advanced'), { if: {}, then: {} }),
      dependentRequired: (s) => void (s.connectionSpecification.dependentRequired = { a: ['b'] }),
    },
  },
  {
    name: 'no two properties of one object share an order within a group (fails on a duplicate order)',
    check: duplicateOrderViolations,
    breaks: {
      'top level': (s) => void (prop(s, 'is_sandbox').order = prop(s, 'login_url').order),
      'inside advanced': (s) => void (prop(s, 'advanced', 'dry_run').order = 0),
      'inside a oneOf variant': (s) => void (variantProp(s, 0, 'refresh_token').order = 1),
    },
  },
  {
    name: 'within each object the orders run 0, 1, 2, … without gaps (fails on a gap or a property without order)',
    check: orderSequenceViolations,
    breaks: {
      'a gap in advanced': (s) => void (prop(s, 'advanced', 'rejected_records_path').order = 99),
      'no order in a stream item': (s) => {
        const items = prop(s, 'streams').items as Json;
        delete ((items.properties as Json).stream_namespace as Json).order;
      },
      'a gap in a oneOf variant': (s) => void (variantProp(s, 2, 'client_secret').order = 5),
    },
  },
  {
    name: 'every property at any depth, and every oneOf branch, has a title and a description (fails on one missing)',
    check: titleDescriptionViolations,
    breaks: {
      'a top-level description': (s) => void delete prop(s, 'login_url').description,
      'an auth_type title': (s) => void delete variantProp(s, 1, 'auth_type').title,
      'a oneOf branch description': (s) => void delete variant(s, 0).description,
      'a field of a streams item': (s) => {
        const items = prop(s, 'streams').items as Json;
        delete ((items.properties as Json).external_id_field as Json).description;
      },
      'a field of a nested array item': (s) => {
        const streamItems = prop(s, 'streams').items as Json;
        const mappings = (streamItems.properties as Json).field_mappings as Json;
        ((mappings.items as Json).properties as Json).source = { title: 'Source', type: 'string', order: 0 };
      },
      'a blank title in advanced': (s) => void (prop(s, 'advanced', 'dry_run').title = ' '),
    },
  },
  {
    name: 'group appears only on top-level properties (fails on a nested group)',
    check: nestedGroupViolations,
    breaks: {
      'in a oneOf variant': (s) => void (variantProp(s, 0, 'client_id').group = 'auth'),
      'in advanced': (s) => void (prop(s, 'advanced', 'dry_run').group = 'x'),
    },
  },
  {
    name: 'display_type only on a oneOf field and only dropdown or radio (fails otherwise)',
    check: displayTypeViolations,
    breaks: {
      'without oneOf': (s) => void (prop(s, 'login_url').display_type = 'dropdown'),
      'an unknown value': (s) => void (prop(s, 'credentials').display_type = 'list'),
    },
  },
  {
    name: 'the spec file holds no $ref (fails on any $ref)',
    check: refViolations,
    breaks: {
      'a $ref': (s) => void ((s.connectionSpecification.properties as Json).x = { $ref: '#/definitions/y' }),
    },
  },
  {
    name: 'advanced_auth predicate_key and every path_in_connector_config exist in the spec (fails on a missing path)',
    check: oauthPathViolations,
    breaks: {
      'a misspelt output path': (s) => {
        const out = s.advanced_auth!.oauth_config_specification!.complete_oauth_output_specification!;
        (out.properties!.refresh_token as Json).path_in_connector_config = ['credentials', 'refresh_tokn'];
      },
      'a missing predicate key': (s) => void (s.advanced_auth!.predicate_key = ['credentials', 'type']),
      'a predicate value no variant has': (s) => void (s.advanced_auth!.predicate_value = 'oauth2'),
      'a path only in another variant': (s) => {
        const out = s.advanced_auth!.oauth_config_specification!.complete_oauth_output_specification!;
        (out.properties!.refresh_token as Json).path_in_connector_config = ['credentials', 'private_key'];
      },
    },
  },
  {
    name: 'OAuth is the default (first) credentials option (fails when another comes first)',
    check: oauthDefaultViolations,
    breaks: { 'another option first': (s) => void (prop(s, 'credentials').oneOf as Json[]).reverse() },
  },
  {
    name: 'additionalProperties, wherever set, is true (fails on false)',
    check: additionalPropertiesViolations,
    breaks: {
      'false on advanced': (s) => void (prop(s, 'advanced').additionalProperties = false),
      'false on a variant': (s) => void (variant(s, 1).additionalProperties = false),
      'a schema': (s) => void (s.connectionSpecification.additionalProperties = { type: 'string' }),
    },
  },
  {
    name: 'connectionSpecification compiles in ajv strict mode with Airbyte annotations declared (fails on a misspelt keyword)',
    check: strictCompileViolations,
    breaks: { requried: (s) => void (prop(s, 'advanced').requried = ['dry_run']) },
  },
];

describe('spec/spec.json follows Airbyte spec rules', () => {
  for (const rule of RULES) {
    it(rule.name, () => {
      expect(rule.check(loadSpec())).toEqual([]);
      for (const [how, mutate] of Object.entries(rule.breaks)) {
        const broken = loadSpec();
        mutate(broken);
        expect({ how, caught: rule.check(broken).length > 0 }).toEqual({ how, caught: true });
      }
    });
  }
});

describe('advanced settings', () => {
  const ajv = new Ajv({ allErrors: true, strict: false, useDefaults: true });
  const validate = ajv.compile(loadSpec().connectionSpecification);
  const withAdvanced = (advanced: Json): Json => ({
    ...structuredClone(SAMPLE_CONFIGS.oauth2_refresh_token!),
    advanced: structuredClone(advanced),
  });
  const verdicts = (key: string, values: unknown[]): Record<string, boolean> =>
    Object.fromEntries(values.map((v) => [JSON.stringify(v), validate(withAdvanced({ [key]: v }))]));

  it('parallel_requests is a whole number from 1 to 25 or "auto", and nothing else', () => {
    const good = ['auto', 1, 4, 25];
    const bad = [0, 26, 2.5, -1, '4', 'AUTO', 'fast', '', null, true, [4], { value: 4 }];
    expect(verdicts('parallel_requests', [...good, ...bad])).toEqual(
      Object.fromEntries([
        ...good.map((v) => [JSON.stringify(v), true]),
        ...bad.map((v) => [JSON.stringify(v), false]),
      ]),
    );
  });

  it('an empty advanced block takes the defaults: auto concurrency up to 10, auto write API from 10,000 rows, 600 s after a lost answer, and the older settings unchanged', () => {
    const config = withAdvanced({});
    expect(validate(config)).toBe(true);
    expect(config.advanced).toEqual({
      records_per_request: 1020,
      parallel_requests: 'auto',
      max_parallel_requests: 10,
      write_api: 'auto',
      bulk_threshold_rows: 10000,
      null_handling: 'clear',
      assignment_rule: 'default',
      duplicate_rule_allow_save: false,
      mirror_max_delete_percent: 20,
      mirror_allow_empty_source: false,
      dry_run: false,
      api_budget_percent: 95,
      rate_limit_max_wait_seconds: 300,
      request_timeout_seconds: 120,
      lost_answer_wait_seconds: 600,
    });
  });

  it.each([
    ['max_parallel_requests', [1, 10, 25], [0, 26, 2.5, 'auto', '10']],
    ['write_api', ['auto', 'rest', 'bulk'], ['REST', 'bulk2', '', 1]],
    ['bulk_threshold_rows', [1, 10000, 5000000], [0, -5, 2.5, '10000']],
    ['lost_answer_wait_seconds', [0, 600, 3600], [-1, 3601, 1.5, '600']],
  ])('%s accepts %j and refuses %j', (key, good, bad) => {
    expect(verdicts(key, [...good, ...bad])).toEqual(
      Object.fromEntries([
        ...good.map((v) => [JSON.stringify(v), true]),
        ...bad.map((v) => [JSON.stringify(v), false]),
      ]),
    );
  });
});

// ---- declarative OAuth ----------------------------------------------------------------------------

/**
 * What Airbyte's platform offers a declarative OAuth template (airbytehq/airbyte-platform, module
 * airbyte-oauth, package io.airbyte.oauth.declarative). Since platform 1.6.0 DeclarativeOAuthSpecHandler
 * renders the templates with Jinjava: the older interpolator's `urlEncoder` and `base64Encoder`
 * filters (which airbyte_protocol.yaml's examples still show) are gone, and Jinjava renders an unknown
 * filter as an empty string, so `redirect_uri=` and `scope=` went out empty.
 */
const PLATFORM = {
  /**
   * Jinjava's built-in filters plus the platform's own codechallengeS256 (CodeChallengeS256Filter) and
   * b64encode (Base64EncodeFilter, also a Jinjava built-in). The current platform renders in a
   * restricted Jinjava that allows these four and refuses every other filter
   * (DeclarativeOAuthSpecHandlerTest.testRenderStringTemplateAllowsOnlyAllowlistedTagsAndFilters): so
   * these are the filters that work on every platform since 1.6.0.
   */
  filters: ['urlencode', 'replace', 'b64encode', 'codechallengeS256'],
  /** The tags that restricted renderer allows (same test): no for, set, elif, macro. */
  tags: ['if', 'else', 'endif'],
  /**
   * The names DeclarativeOAuthSpecHandler puts in the template map besides the config's own keys
   * (MANDATORY_DEFAULT_KEYS, getTemplateParametersAndValues): each `*_key` names a parameter, `*_value`
   * is its value, `*_param` is `key=value` (URL-encoded for redirect_uri and scope), and the value is
   * also found under the parameter's own name (client_id, code, …).
   */
  variables: ['client_id', 'client_secret', 'auth_code', 'redirect_uri', 'scope', 'state'].flatMap((p) => [
    `${p}_key`,
    `${p}_value`,
    `${p}_param`,
  ]),
  defaultKeys: {
    auth_code_key: 'code',
    client_id_key: 'client_id',
    client_secret_key: 'client_secret',
    redirect_uri_key: 'redirect_uri',
    scope_key: 'scope',
    state_key: 'state',
  } as Record<string, string>,
  /** Names whose value is the client secret: the consent URL goes to the user's browser. */
  secrets: ['client_secret', 'client_secret_value', 'client_secret_param'],
};

interface NjNode {
  typename: string;
  fields: string[];
  children?: unknown[];
  value?: unknown;
  [field: string]: unknown;
}
/** nunjucks' own parser (exported, untyped): the tree shows every filter, name, call and lookup a template uses. */
const parseTemplate = (src: string): NjNode =>
  (nunjucks as unknown as { parser: { parse: (text: string) => NjNode } }).parser.parse(src);
const isNode = (value: unknown): value is NjNode =>
  typeof value === 'object' && value !== null && typeof (value as NjNode).typename === 'string';

// Expression nodes a template may use: literals, names, ( ), ~, ==, and/or/not, inline and tag if.
const PLAIN_NODES = new Set([
  'Root',
  'Output',
  'NodeList',
  'TemplateData',
  'Literal',
  'Group',
  'Concat',
  'Compare',
  'CompareOperand',
  'And',
  'Or',
  'Not',
]);
const NODE_WORDS: Record<string, string> = {
  FunCall: 'a function or method call',
  LookupVal: 'an attribute or index lookup',
  Is: 'a test (`is …`)',
};

/**
 * What in one template the platform would refuse or render otherwise than meant: a tag or a filter it
 * lacks, a name it does not provide, a call or lookup (the restricted renderer refuses them), a boolean
 * input used as a condition (the platform passes every value as text, and "false" is truthy text to
 * Jinja engines other than Jinjava, this test's nunjucks among them), or — in the
 * consent URL, which goes to the user's browser — the client secret.
 */
function templateProblems(
  template: string,
  names: ReadonlySet<string>,
  booleans: ReadonlySet<string>,
  inBrowser: boolean,
): string[] {
  const problems: string[] = [];
  for (const [, tag] of template.matchAll(/\{%-?\s*(\w+)/g)) {
    if (!PLATFORM.tags.includes(tag!)) problems.push(`tag {% ${tag} %} is not one the platform allows`);
  }
  let root: NjNode;
  try {
    root = parseTemplate(template);
  } catch (error) {
    return [...problems, `does not parse: ${(error as Error).message}`];
  }
  const visit = (node: unknown, condition: boolean): void => {
    if (Array.isArray(node)) return node.forEach((n) => visit(n, condition));
    if (!isNode(node)) return;
    switch (node.typename) {
      case 'Filter': {
        const name = String((node.name as NjNode).value);
        if (!PLATFORM.filters.includes(name)) problems.push(`filter ${name} is not one the platform has`);
        return visit(node.args, false);
      }
      case 'Symbol': {
        const name = String(node.value);
        if (!names.has(name)) problems.push(`${name} is a name the platform does not provide`);
        if (condition && booleans.has(name))
          problems.push(
            `${name} is used as a condition: the platform passes it as the text "true" or "false", which only Jinjava reads as a boolean; compare it with == 'true' so every Jinja engine renders it alike`,
          );
        if (inBrowser && PLATFORM.secrets.includes(name))
          problems.push(`${name} would put the client secret in the browser's address bar`);
        return;
      }
      case 'If':
      case 'InlineIf':
        visit(node.cond, true);
        visit(node.body, false);
        return visit(node.else_, false);
      default:
        if (!PLAIN_NODES.has(node.typename)) {
          problems.push(
            `${NODE_WORDS[node.typename] ?? node.typename} is not something the platform renders`,
          );
          return;
        }
        if (node.children) return visit(node.children, condition);
        for (const field of node.fields) visit(node[field], condition && node.typename !== 'Compare');
    }
  };
  visit(root, false);
  return problems;
}

/** Java's URLEncoder.encode(s, UTF_8), form encoding: Jinjava's urlencode, the platform's *_param values and its token request body. */
function javaUrlEncode(text: string): string {
  return encodeURIComponent(text)
    .replace(/[!'()~]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`)
    .replace(/%20/g, '+');
}

/** JsonNode.asText(): how the platform turns each input value into template text. */
function asText(value: unknown): string {
  if (typeof value === 'string') return value;
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  return value === null ? 'null' : '';
}

/** One run of the platform's flow: what it knows when it builds the consent URL, then the token request. */
interface Exchange {
  clientId: string;
  clientSecret?: string;
  redirectUri: string;
  state?: string;
  code?: string;
}

/** A Jinja-compatible renderer with the platform's filters; `replace` is nunjucks' own (same meaning). */
const renderer = new nunjucks.Environment(null, { autoescape: false, throwOnUndefined: false });
renderer.addFilter('urlencode', (value: unknown) =>
  javaUrlEncode(typeof value === 'string' ? value : value == null ? '' : JSON.stringify(value)),
);
renderer.addFilter('b64encode', (value: unknown) =>
  typeof value === 'string' ? Buffer.from(value, 'utf8').toString('base64') : value,
);
// CodeChallengeS256Filter: standard Base64 (with padding) of the SHA-256 digest.
renderer.addFilter('codechallengeS256', (value: unknown) =>
  typeof value === 'string' ? createHash('sha256').update(value, 'utf8').digest('base64') : value,
);

describe('declarative OAuth (advanced_auth.oauth_config_specification.oauth_connector_input_specification)', () => {
  const spec = loadSpec();
  const oauth = spec.advanced_auth!.oauth_config_specification!;
  const input = oauth['oauth_connector_input_specification'] as unknown as Record<string, unknown> & {
    consent_url: string;
    access_token_url: string;
    access_token_params?: Record<string, string>;
    access_token_headers?: Record<string, string>;
  };
  const userInputSchema = oauth['oauth_user_input_from_connector_config_specification'] as unknown as Json;
  const userInputs = Object.entries((userInputSchema.properties ?? {}) as Record<string, Json>);
  const names = new Set([
    ...PLATFORM.variables,
    ...Object.keys(PLATFORM.defaultKeys),
    ...Object.values(PLATFORM.defaultKeys),
    ...Object.keys(input),
    ...userInputs.map(([name]) => name),
  ]);
  const booleans = new Set(userInputs.filter(([, s]) => s.type === 'boolean').map(([name]) => name));

  /** Every template in the block, with where it is. */
  const templates = (block: typeof input): [string, string, boolean][] => [
    ['consent_url', block.consent_url, true],
    ['access_token_url', block.access_token_url, false],
    ...(['access_token_params', 'access_token_headers'] as const).flatMap((part) =>
      Object.entries(block[part] ?? {}).flatMap(([k, v]): [string, string, boolean][] => [
        [`${part} key ${k}`, k, false],
        [`${part}.${k}`, v, false],
      ]),
    ),
  ];

  /** The template map DeclarativeOAuthSpecHandler builds (createDefaultTemplateMap, getTemplateParametersAndValues). */
  const templateValues = (user: Json, exchange: Exchange): Record<string, string> => {
    const values: Record<string, string> = { ...PLATFORM.defaultKeys };
    for (const [key, value] of Object.entries({ ...user, ...input })) values[key] = asText(value);
    const given: Record<string, string | undefined> = {
      client_id: exchange.clientId,
      client_secret: exchange.clientSecret,
      auth_code: exchange.code,
      redirect_uri: exchange.redirectUri,
      state: exchange.state,
    };
    for (const [name, value] of Object.entries(given))
      if (value !== undefined) values[values[`${name}_key`]!] = value;
    for (const name of ['client_id', 'client_secret', 'auth_code', 'state', 'redirect_uri', 'scope']) {
      const key = values[`${name}_key`]!;
      const value = values[key];
      const encoded =
        value === undefined
          ? 'null'
          : name === 'redirect_uri' || name === 'scope'
            ? javaUrlEncode(value)
            : value;
      values[`${name}_param`] = `${key}=${encoded}`;
      if (value !== undefined) values[`${name}_value`] = value;
    }
    return values;
  };
  const render = (template: string, values: Record<string, string>): string =>
    renderer.renderString(template, values);
  const renderMap = (
    map: Record<string, string> | undefined,
    values: Record<string, string>,
  ): Record<string, string> =>
    Object.fromEntries(Object.entries(map ?? {}).map(([k, v]) => [render(k, values), render(v, values)]));
  /** DeclarativeOAuthFlow.getRequestContentType: form only when params come with that Content-Type header. */
  const contentType = (block: typeof input): string => {
    if (block.access_token_params === undefined) return 'application/x-www-form-urlencoded';
    const header = block.access_token_headers?.['Content-Type'];
    return header === 'application/x-www-form-urlencoded' ? header : 'application/json';
  };

  const EXCHANGE: Required<Exchange> = {
    clientId: '3MVG9fe4g9fhX0E5demo.Client_Id',
    clientSecret: 'Fe3+Xq/9=&demo',
    redirectUri: 'https://cloud.airbyte.com/auth_flow',
    state: 'k3X.9-_aQ',
    // Salesforce's authorization codes are Base64 text: '+', '/' and '=' must survive the exchange.
    code: 'aPrxkJ+0Qg/Zz1==',
  };
  const LOGIN_HOSTS: [string, Json, string][] = [
    ['production', { is_sandbox: false }, 'https://login.salesforce.com'],
    ['production, is_sandbox not sent', {}, 'https://login.salesforce.com'],
    ['sandbox', { is_sandbox: true }, 'https://test.salesforce.com'],
    [
      'My Domain',
      { is_sandbox: false, login_url: 'https://acme.my.salesforce.com' },
      'https://acme.my.salesforce.com',
    ],
    [
      'My Domain with a trailing slash',
      { is_sandbox: false, login_url: 'https://acme.my.salesforce.com/' },
      'https://acme.my.salesforce.com',
    ],
    [
      'sandbox My Domain with a trailing slash',
      { is_sandbox: true, login_url: 'https://acme--uat.sandbox.my.salesforce.com/' },
      'https://acme--uat.sandbox.my.salesforce.com',
    ],
  ];

  it('every template uses only tags, filters and names the platform has, and the consent URL carries no secret', () => {
    const found = templates(input).flatMap(([where, text, inBrowser]) =>
      templateProblems(text, names, booleans, inBrowser).map((p) => `${where}: ${p}`),
    );
    expect(found).toEqual([]);
  });

  it.each([
    ['the removed urlEncoder filter', '{{ redirect_uri_value | urlEncoder }}', 'filter urlEncoder'],
    ['a Jinjava filter the platform refuses', '{{ login_url | lower }}', 'filter lower'],
    ['a method call', "{{ login_url.rstrip('/') }}", 'function or method call'],
    ['a for loop', '{% for x in [1] %}{{ x }}{% endfor %}', 'tag {% for %}'],
    ['an elif', '{% if login_url %}a{% elif is_sandbox %}b{% endif %}', 'tag {% elif %}'],
    ['a test', '{{ login_url is defined }}', 'a test'],
    ['a name nobody provides', 'https://{{ my_domain }}/services', 'my_domain is a name'],
    ['a boolean as a condition', "{{ 'a' if is_sandbox else 'b' }}", 'is_sandbox is used as a condition'],
    ['the secret in the consent URL', '{{ consent_url }}?{{ client_secret_param }}', 'client secret'],
  ])('catches %s', (_what, template, problem) => {
    const found = templateProblems(template, names, booleans, true);
    expect(found.join('\n')).toContain(problem);
  });

  it('the user inputs the templates read are in the config, with the types the platform validates', () => {
    const validateInput = new Ajv({ strict: false }).compile(userInputSchema);
    for (const [, user] of LOGIN_HOSTS)
      expect({ user, valid: validateInput(user) }).toEqual({ user, valid: true });
  });

  it.each(LOGIN_HOSTS)(
    'consent URL for %s: authorize on that host, redirect_uri and scope URL-encoded',
    (_name, user, host) => {
      // The consent URL is built before there is a code, and without the secret.
      const atConsent = {
        clientId: EXCHANGE.clientId,
        redirectUri: EXCHANGE.redirectUri,
        state: EXCHANGE.state,
      };
      const url = render(input.consent_url, templateValues(user, atConsent));
      expect(url).toBe(
        `${host}/services/oauth2/authorize?response_type=code&client_id=${EXCHANGE.clientId}` +
          `&redirect_uri=https%3A%2F%2Fcloud.airbyte.com%2Fauth_flow&scope=api+refresh_token&state=${EXCHANGE.state}`,
      );
      const query = new URL(url).searchParams;
      expect(query.get('redirect_uri')).toBe(EXCHANGE.redirectUri);
      expect(query.get('scope')).toBe('api refresh_token');
    },
  );

  it.each(LOGIN_HOSTS)(
    'token request for %s: POST to the token URL, code and secret in a form body, none in the URL',
    (_name, user, host) => {
      const values = templateValues(user, EXCHANGE);
      const url = render(input.access_token_url, values);
      expect(url).toBe(`${host}/services/oauth2/token`);
      expect(new URL(url).search).toBe('');
      const params = renderMap(input.access_token_params, values);
      expect(params).toEqual({
        grant_type: 'authorization_code',
        code: EXCHANGE.code,
        client_id: EXCHANGE.clientId,
        client_secret: EXCHANGE.clientSecret,
        redirect_uri: EXCHANGE.redirectUri,
      });
      expect(renderMap(input.access_token_headers, values)).toEqual({
        'Content-Type': 'application/x-www-form-urlencoded',
        Accept: 'application/json',
      });
      expect(contentType(input)).toBe('application/x-www-form-urlencoded');
      // BaseOAuth2Flow.toUrlEncodedString: key=URLEncoder(value), as Salesforce reads the body back.
      const body = Object.entries(params)
        .map(([k, v]) => `${k}=${javaUrlEncode(v)}`)
        .join('&');
      expect(Object.fromEntries(new URLSearchParams(body))).toEqual(params);
    },
  );

  it('asks for the api and refresh_token scopes and keeps the refresh token and instance URL', () => {
    // Salesforce Help "OAuth Tokens and Scopes": `api` covers REST and Bulk API 2.0; `refresh_token` and
    // `offline_access` name one permission ("Perform requests at any time (refresh_token,
    // offline_access)"), so asking for both adds nothing; and a request may only name scopes the
    // connected app has (Mobile SDK "Scope Parameter Values").
    expect(input.scope).toBe('api refresh_token');
    expect(input['extract_output']).toEqual(['refresh_token', 'instance_url']);
    for (const out of input['extract_output'] as string[]) {
      expect(oauth['complete_oauth_output_specification']!.properties).toHaveProperty(out);
    }
  });
});
