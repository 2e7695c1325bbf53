/**
 * Salesforce emulator for the connector's tests, demo and benchmark: a loopback HTTP server that
 * behaves like a Salesforce org as documented in ../shared/reference/salesforce-api.md. See README.md.
 *
 * ```ts
 * const sf = await startEmulator();
 * // sf.url is both the login host and the instance URL; sf.credentials holds a working refresh token.
 * await sf.close();
 * ```
 */
import { EmulatorServer } from './server.js';
import type { Emulator, EmulatorOptions } from './types.js';

export type {
  BeforeSaveContext,
  BulkJobFaultSpec,
  BulkStats,
  ClientOptions,
  DropNextSpec,
  Emulator,
  EmulatorCredentials,
  EmulatorOptions,
  EmulatorSettings,
  EmulatorStats,
  FailNextSpec,
  FaultControl,
  FaultMatch,
  HoldNextSpec,
  LockRowsSpec,
  RecordError,
  RefreshTokenOptions,
  StallNextSpec,
  StallStats,
  UserOptions,
} from './types.js';
export { DEFAULT_CREDENTIALS, DEFAULT_REDIRECT_URIS, SettingError, defaultSettings } from './server.js';
export { contentionChance, modelLatencyMs } from './latency.js';
export { FixturesError } from './fixtures.js';

/** Start an emulator on 127.0.0.1 (a random port unless `options.port` is set). */
export async function startEmulator(options?: EmulatorOptions): Promise<Emulator> {
  const emulator = new EmulatorServer(options);
  await emulator.listen();
  return emulator;
}
