import { describe, expect, it } from '@jest/globals';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { Ajv } from 'ajv';
import { readPackageJson } from './validation.js';

describe('the schemas the connector ships', () => {
  // createAjv skips the meta-schema check at run time; this is where it happens instead.
  const ajv = new Ajv({ strict: false });

  it('spec/spec.json has a valid draft-07 connectionSpecification', () => {
    const spec = readPackageJson<{ connectionSpecification: object }>('spec/spec.json');
    expect(ajv.validateSchema(spec.connectionSpecification) ? [] : ajv.errors).toEqual([]);
  });

  it('schemas/configured_catalog.json is a valid draft-07 schema', () => {
    const schema = readPackageJson<object>('schemas/configured_catalog.json');
    expect(ajv.validateSchema(schema) ? [] : ajv.errors).toEqual([]);
  });

  it('a broken schema is caught by the same check', () => {
    expect(ajv.validateSchema({ type: 'objekt' })).toBe(false);
  });
});

describe('the generated validators', () => {
  it('connector/generated/validators.js is what scripts/validators.mjs makes of the schemas today', () => {
    const script = fileURLToPath(new URL('../scripts/validators.mjs', import.meta.url));
    const check = spawnSync(process.execPath, [script, '--check'], { encoding: 'utf8' });
    // Out of date after a change to spec/ or schemas/: `npm run build` writes it again.
    expect([check.status, check.stderr]).toEqual([0, '']);
  });
});
