/** Assertions every CLI run must pass (jest only), and the emulator config (re-exported). */
export { emulatorConfig } from './config.js';
import { expect } from '@jest/globals';
import type { Emulator } from '../emulator/index.js';
import { runCli, tempFiles, type CliResult, type RunOptions } from './cli.js';
import { validateMessage } from './protocol.js';

/**
 * `write` through the built CLI with this config and configured catalog (written 0600 to a folder
 * removed when the test ends); every line printed is checked against the protocol, and the
 * emulator's secrets must not appear in it.
 */
export async function runWrite(
  emulator: Emulator,
  config: Record<string, unknown>,
  configured: Record<string, unknown>,
  options: RunOptions = {},
): Promise<CliResult> {
  const files = tempFiles({ 'config.json': config, 'catalog.json': configured });
  const result = await runCli(
    ['write', '--config', files['config.json']!, '--catalog', files['catalog.json']!],
    options,
  );
  expectValidProtocol(result, [emulator.credentials.clientSecret, emulator.credentials.refreshToken]);
  return result;
}

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
