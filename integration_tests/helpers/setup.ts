/** Assertions every CLI run must pass (jest only), and the emulator config (re-exported). */
export { emulatorConfig } from './config.js';
import { expect } from '@jest/globals';
import type { CliResult } from './cli.js';
import { validateMessage } from './protocol.js';

/**
 * Every line printed validates against the official AirbyteMessage schema, and no secret leaks —
 * except in CONTROL, whose job is to hand the platform the whole config to store (with a rotated token).
 */
export function expectValidProtocol(result: CliResult, secrets: string[] = []): void {
  for (const message of result.messages) expect(validateMessage(message)).toEqual([]);
  const visible = result.messages
    .filter((m) => m.type !== 'CONTROL')
    .map((m) => JSON.stringify(m))
    .join('\n');
  for (const secret of secrets) {
    expect(visible).not.toContain(secret);
    expect(result.stderr).not.toContain(secret);
  }
}
