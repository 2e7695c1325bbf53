/**
 * One nock setup for every test file (STYLE.md): no real network except loopback, which the
 * emulator and the CLI tests use; every interceptor cleaned after each test and nock restored
 * after each file.
 */
import { afterAll, afterEach, beforeAll } from '@jest/globals';
import nock from 'nock';

beforeAll(() => {
  nock.disableNetConnect();
  nock.enableNetConnect(/^(127\.0\.0\.1|localhost|\[::1\])(:\d+)?$/);
});

afterEach(() => {
  nock.cleanAll();
});

afterAll(() => {
  nock.restore();
  nock.enableNetConnect();
});
