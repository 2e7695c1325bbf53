/** A connector config for the emulator (usable outside jest: the demo imports it). */
import type { Emulator } from '../emulator/index.js';

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
