/**
 * The one setup every test file shares.
 *
 * Network (STYLE.md): no real network except loopback, which the emulator and the CLI tests use;
 * every nock interceptor cleaned after each test and nock restored after each file. A scope a test
 * set up and never used fails that test: a reply nobody asked for means the test did not exercise
 * what it claims.
 *
 * Leftovers: the temporary folders a test made with the helpers (integration_tests/helpers/temp.ts)
 * are removed when it ends, passed or failed, and those made outside a test (beforeAll, describe)
 * when the file ends; a CLI process a test left running is killed and fails that test. What still
 * escapes fails the whole run in the global teardown (integration_tests/helpers/jest-global-teardown.ts).
 */
import { afterAll, afterEach, beforeAll, beforeEach } from '@jest/globals';
import nock from 'nock';
import { killRunningClis } from './integration_tests/helpers/cli.js';
import { removeTempDirs, tempMark } from './integration_tests/helpers/temp.js';

beforeAll(() => {
  nock.disableNetConnect();
  nock.enableNetConnect(/^(127\.0\.0\.1|localhost|\[::1\])(:\d+)?$/);
});

let mark = 0;
beforeEach(() => {
  mark = tempMark();
});

afterEach(() => {
  const unused = nock.pendingMocks();
  nock.cleanAll();
  const killed = killRunningClis();
  removeTempDirs(mark);
  const problems: string[] = [];
  if (unused.length > 0) problems.push(`nock scopes set up but never used:\n  ${unused.join('\n  ')}`);
  if (killed > 0) problems.push(`${killed} CLI process(es) still running when the test ended (killed)`);
  if (problems.length > 0) throw new Error(problems.join('\n'));
});

afterAll(() => {
  removeTempDirs();
  nock.restore();
  nock.enableNetConnect();
});
