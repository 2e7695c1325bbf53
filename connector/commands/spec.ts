/** `spec`: prints spec/spec.json as one SPEC message. */
import { loadSpec } from '../config.js';
import type { CommandContext } from './context.js';

/** Emits the connector specification. */
export async function runSpec(ctx: CommandContext): Promise<number> {
  await ctx.emitter.emit({ type: 'SPEC', spec: loadSpec() });
  return 0;
}
