import { describe, expect, it } from '@jest/globals';
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
