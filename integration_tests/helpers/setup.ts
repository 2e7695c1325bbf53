/** A config for the emulator, and assertions every CLI run must pass. */
import { expect } from '@jest/globals';
import type { Emulator } from '../emulator/index.js';
import type { CliResult } from './cli.js';
import { validateMessage } from './protocol.js';

/** A valid refresh-token config pointing at the emulator, with overrides. */
export function emulatorConfig(
  emulator: Emulator,
  extra: Record<string, unknown> = {},
): Record<string, unknown> {
  const { clientId, clientSecret, refreshToken } = emulator.credentials;
  return {
    credentials: {
      auth_type: 'oauth2_refresh_token',
      client_id: clientId,
      client_secret: clientSecret,
      refresh_token: refreshToken,
    },
    login_url: emulator.url,
    ...extra,
  };
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
