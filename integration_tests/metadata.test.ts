/**
 * metadata.yaml is what Airbyte's registry and QA checks read (airbyte-protocol-notes.md §3.4); the
 * Dockerfile's labels and entrypoint are what CAT's test_image_labels and
 * test_image_environment_variables read (§3.3). These tests keep the four files in step: metadata.yaml,
 * package.json, spec/spec.json and the Dockerfile.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { describe, expect, it } from '@jest/globals';
import { Ajv, type ValidateFunction } from 'ajv';
import addFormats from 'ajv-formats';
import { XMLParser, XMLValidator } from 'fast-xml-parser';
import { parse } from 'yaml';
import { NODE_FLAGS } from './helpers/cli.js';

const repo = new URL('../', import.meta.url);
const schemaDir = new URL('../../shared/airbyte-metadata-schema/', import.meta.url);
const ROOT_SCHEMA = 'ConnectorMetadataDefinitionV0.yaml';

/**
 * Keys upstream added to `data` after the stored schema set was copied (SOURCE.txt: "newer metadata.yaml
 * fields … are rejected by this set"). Exactly these are allowed, with their upstream types; every other
 * unknown key is still refused by `additionalProperties: false`.
 */
const NEWER_DATA_KEYS: Record<string, object> = {
  supportsDataActivation: { type: 'boolean', default: false },
  supportsRefreshes: { type: 'boolean', default: false },
};

const applyFormats =
  (addFormats as unknown as { default?: (ajv: Ajv) => Ajv }).default ??
  (addFormats as unknown as (ajv: Ajv) => Ajv);

const readText = (path: string): string => readFileSync(new URL(path, repo), 'utf8');

interface Metadata {
  metadataSpecVersion: string;
  data: Record<string, unknown> & {
    dockerRepository: string;
    dockerImageTag: string;
    tags?: string[];
    allowedHosts?: { hosts?: string[] };
    icon?: string;
  };
}

const metadata = parse(readText('metadata.yaml')) as Metadata;
const packageJson = JSON.parse(readText('package.json')) as { version: string; license: string };
const spec = JSON.parse(readText('spec/spec.json')) as {
  protocol_version: string;
  documentationUrl: string;
  connectionSpecification: { properties: Record<string, { examples?: string[] }> };
};

/** `type: dict` (ConnectorReleases.yaml) is not JSON Schema: read it as `object`, in memory only. */
function mapDictToObject(node: unknown): unknown {
  if (Array.isArray(node)) return node.map(mapDictToObject);
  if (node === null || typeof node !== 'object') return node;
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(node)) {
    out[key] = key === 'type' && value === 'dict' ? 'object' : mapDictToObject(value);
  }
  return out;
}

/** The stored schema set, each file registered under its file name (the $refs use file names). */
function compileMetadataSchema(extraDataKeys: Record<string, object>): ValidateFunction {
  const ajv = new Ajv({ allErrors: true, strict: false });
  applyFormats(ajv);
  for (const file of readdirSync(schemaDir).filter((f) => f.endsWith('.yaml'))) {
    const schema = mapDictToObject(parse(readFileSync(new URL(file, schemaDir), 'utf8'))) as {
      $id?: string;
      properties?: { data?: { properties?: Record<string, object> } };
    };
    schema.$id = file;
    if (file === ROOT_SCHEMA) {
      const dataProperties = schema.properties?.data?.properties;
      if (!dataProperties) throw new Error(`${ROOT_SCHEMA} has no data.properties`);
      Object.assign(dataProperties, extraDataKeys);
    }
    ajv.addSchema(schema);
  }
  const validate = ajv.getSchema(ROOT_SCHEMA);
  if (!validate) throw new Error(`${ROOT_SCHEMA} did not compile`);
  return validate;
}

/** The final stage's instructions, continuation lines joined and comments dropped. */
function finalStageInstructions(dockerfile: string): { keyword: string; args: string }[] {
  const joined = dockerfile
    .split('\n')
    .filter((line) => !/^\s*#/.test(line))
    .join('\n')
    .replace(/\\\n/g, ' ');
  const instructions = joined
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line !== '')
    .map((line) => {
      const match = /^(\w+)\s+(.*)$/.exec(line);
      if (!match) throw new Error(`Unparsable Dockerfile line: ${line}`);
      return { keyword: match[1]!.toUpperCase(), args: match[2]!.trim() };
    });
  const lastFrom = instructions.map((i) => i.keyword).lastIndexOf('FROM');
  return instructions.slice(lastFrom);
}

/** `k=v k2="v 2"` pairs (LABEL, ENV key=value form); `ENV K V` is read as one pair. */
function keyValues(args: string): Record<string, string> {
  const pairs: Record<string, string> = {};
  const re = /([\w.-]+)=("(?:[^"\\]|\\.)*"|\S+)/g;
  let matched = false;
  for (const m of args.matchAll(re)) {
    matched = true;
    const raw = m[2]!;
    pairs[m[1]!] = raw.startsWith('"') ? (JSON.parse(raw) as string) : raw;
  }
  if (!matched) {
    const legacy = /^(\S+)\s+(.*)$/.exec(args);
    if (legacy) pairs[legacy[1]!] = legacy[2]!;
  }
  return pairs;
}

function dockerfileFacts(): {
  labels: Record<string, string>;
  env: Record<string, string>;
  entrypoint: string[];
  user: string | undefined;
} {
  const instructions = finalStageInstructions(readText('Dockerfile'));
  const labels: Record<string, string> = {};
  const env: Record<string, string> = {};
  let entrypoint: string[] = [];
  let user: string | undefined;
  for (const { keyword, args } of instructions) {
    if (keyword === 'LABEL') Object.assign(labels, keyValues(args));
    if (keyword === 'ENV') Object.assign(env, keyValues(args));
    if (keyword === 'USER') user = args;
    if (keyword === 'ENTRYPOINT') {
      // Exec form only: the shell form would run under /bin/sh -c and swallow signals.
      entrypoint = JSON.parse(args) as string[];
    }
  }
  return { labels, env, entrypoint, user };
}

/** Whether `host` is matched by an allowedHosts entry, reading `*` as exactly one DNS label (the strict reading). */
function hostAllowed(host: string, patterns: string[]): boolean {
  return patterns.some((pattern) => {
    const re = new RegExp(
      `^${pattern
        .split('.')
        .map((label) => (label === '*' ? '[^.]+' : label.replace(/[-]/g, '\\-')))
        .join('\\.')}$`,
    );
    return re.test(host);
  });
}

describe('metadata.yaml', () => {
  it('validates against ConnectorMetadataDefinitionV0 (stored set plus only the listed newer data keys)', () => {
    const validate = compileMetadataSchema(NEWER_DATA_KEYS);
    const valid = validate(metadata);
    expect(validate.errors ?? []).toEqual([]);
    expect(valid).toBe(true);
  });

  it('still refuses an unknown data key (the newer keys were added one by one, not by loosening)', () => {
    const validate = compileMetadataSchema(NEWER_DATA_KEYS);
    expect(validate({ ...metadata, data: { ...metadata.data, notAMetadataKey: true } })).toBe(false);
    expect(validate.errors?.map((e) => e.keyword)).toContain('additionalProperties');
  });

  it('uses only newer data keys listed in NEWER_DATA_KEYS (fails if a key is neither in the schema nor listed)', () => {
    const validate = compileMetadataSchema({});
    validate(metadata);
    const unknownKeys = (validate.errors ?? [])
      .filter((e) => e.keyword === 'additionalProperties' && e.instancePath === '/data')
      .map((e) => (e.params as { additionalProperty: string }).additionalProperty)
      .sort();
    expect(unknownKeys).toEqual(
      Object.keys(NEWER_DATA_KEYS)
        .filter((k) => k in metadata.data)
        .sort(),
    );
  });

  it('dockerImageTag equals package.json version (fails on a bump of one without the other)', () => {
    expect(metadata.data.dockerImageTag).toBe(packageJson.version);
  });

  it('protocolVersion equals spec.json protocol_version', () => {
    expect(metadata.data.protocolVersion).toBe(spec.protocol_version);
  });

  it('license equals package.json license and is one Airbyte QA accepts (MIT or ELv2)', () => {
    expect(metadata.data.license).toBe(packageJson.license);
    expect(['MIT', 'ELv2']).toContain(metadata.data.license);
  });

  it('documentationUrl equals spec.json documentationUrl', () => {
    expect(metadata.data.documentationUrl).toBe(spec.documentationUrl);
  });

  it('is a data-activation destination (supportsDataActivation true)', () => {
    expect(metadata.data.connectorType).toBe('destination');
    expect(metadata.data.supportsDataActivation).toBe(true);
  });

  it('has a language tag (Airbyte QA check)', () => {
    expect(metadata.data.tags ?? []).toContain('language:typescript');
  });

  it('dockerImageTag is semver (Airbyte QA check)', () => {
    expect(metadata.data.dockerImageTag).toMatch(/^\d+\.\d+\.\d+(-[0-9A-Za-z.-]+)?$/);
  });

  it('names icon.svg, a well-formed, square, self-contained SVG beside it (the registry shows it; Airbyte QA asks for one)', () => {
    expect(metadata.data.icon).toBe('icon.svg');
    const text = readText(metadata.data.icon!);
    expect(XMLValidator.validate(text)).toBe(true);
    const document = new XMLParser({ ignoreAttributes: false, attributeNamePrefix: '' }).parse(
      text,
    ) as Record<string, Record<string, string> | undefined>;
    expect(Object.keys(document).filter((name) => name !== '?xml')).toEqual(['svg']);
    const svg = document.svg!;
    expect(svg.xmlns).toBe('http://www.w3.org/2000/svg');
    const [, , width, height] = (svg.viewBox ?? '')
      .trim()
      .split(/[\s,]+/)
      .map(Number);
    expect(width).toBeGreaterThan(0);
    expect(width).toBe(height);
    // Shown inside Airbyte's web app: nothing that runs or loads from elsewhere.
    expect(text).not.toMatch(/<script|<foreignObject|(?:xlink:)?href=["'](?!#)/i);
    expect(Buffer.byteLength(text)).toBeLessThan(20_000);
  });

  it('allowedHosts cover the Salesforce login hosts and the spec examples of login_url and instance_url', () => {
    const patterns = metadata.data.allowedHosts?.hosts ?? [];
    const props = spec.connectionSpecification.properties;
    const exampleHosts = [...(props.login_url?.examples ?? []), ...(props.instance_url?.examples ?? [])].map(
      (url) => new URL(url).hostname,
    );
    expect(exampleHosts.length).toBeGreaterThan(0);
    for (const host of [
      'login.salesforce.com',
      'test.salesforce.com',
      'na1.salesforce.com',
      ...exampleHosts,
    ]) {
      expect({ host, allowed: hostAllowed(host, patterns) }).toEqual({ host, allowed: true });
    }
    expect(hostAllowed('example.com', patterns)).toBe(false);
  });
});

describe('Dockerfile (final stage)', () => {
  const facts = dockerfileFacts();

  it('LABEL io.airbyte.name equals metadata dockerRepository (CAT test_image_labels)', () => {
    expect(facts.labels['io.airbyte.name']).toBe(metadata.data.dockerRepository);
  });

  it('LABEL io.airbyte.version equals metadata dockerImageTag (CAT test_image_labels)', () => {
    expect(facts.labels['io.airbyte.version']).toBe(metadata.data.dockerImageTag);
  });

  it('ENV AIRBYTE_ENTRYPOINT equals the ENTRYPOINT, with an absolute script path (CAT test_image_environment_variables)', () => {
    expect(facts.entrypoint.length).toBeGreaterThan(0);
    expect(facts.env.AIRBYTE_ENTRYPOINT).toBe(facts.entrypoint.join(' '));
    expect(facts.entrypoint.slice(1).every((arg) => arg.startsWith('/') || arg.startsWith('-'))).toBe(true);
  });

  it('starts the connector with the V8 flags the tests and the benchmark use', () => {
    expect(facts.entrypoint).toEqual(['node', ...NODE_FLAGS, '/app/dist/main.js']);
  });

  it('runs as the non-root user airbyte', () => {
    expect(facts.user).toBe('airbyte');
  });

  it('sets NODE_ENV=production', () => {
    expect(facts.env.NODE_ENV).toBe('production');
  });
});
