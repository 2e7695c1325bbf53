/** `write`: placeholder until the write path lands. */
import { SystemError } from '../errors.js';
import type { CommandContext } from './context.js';

/** Runs write. */
export function runWrite(_ctx: CommandContext, _config: string, _catalog: string): Promise<number> {
  return Promise.reject(new SystemError('write is not built yet.'));
}
