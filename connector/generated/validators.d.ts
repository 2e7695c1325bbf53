// The types of validators.js, which scripts/validators.mjs generates.
import type { ValidateFunction } from 'ajv';

/** The connection specification, `credentials` checked only for being an object. */
export declare const config: ValidateFunction;
/** The configured catalog. */
export declare const catalog: ValidateFunction;
/** One validator per `credentials.oneOf` branch of the specification, keyed by its `auth_type`. */
export declare const credentials: Readonly<Record<string, ValidateFunction>>;
