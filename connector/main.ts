#!/usr/bin/env node
/**
 * Process entry: argv → one command → AirbyteMessages on stdout. Any error that escapes a command
 * becomes one TRACE `error` (failure_type from its class) and a non-zero exit (PRODUCT.md section 2).
 */
import { parseArgs, usage, type Command } from './cli.js';
import { runCheck } from './commands/check.js';
import type { CommandContext } from './commands/context.js';
import { runDiscover } from './commands/discover.js';
import { runLogin } from './commands/login.js';
import { runSpec } from './commands/spec.js';
import { runWrite } from './commands/write.js';
import { toConnectorError } from './failure.js';
import { errorTraceMessage } from './errors.js';
import { createLogger } from './logger.js';
import { Emitter } from './protocol/emitter.js';
import { Redactor } from './redact.js';

async function dispatch(command: Command, ctx: CommandContext): Promise<number> {
  switch (command.name) {
    case 'spec':
      return runSpec(ctx);
    case 'check':
      return runCheck(ctx, command.config);
    case 'discover':
      return runDiscover(ctx, command.config);
    case 'write':
      return runWrite(ctx, command.config, command.catalog);
    case 'login':
      return runLogin(
        ctx,
        command,
        (text) => ctx.emitter.text(text),
        (text) => process.stderr.write(`${text}\n`),
      );
    case 'help':
      process.stderr.write(`${usage()}\n`);
      return 0;
  }
}

/** Runs the command line and resolves with the exit code. */
async function main(argv: string[]): Promise<number> {
  const redactor = new Redactor();
  const emitter = new Emitter(process.stdout, redactor);
  const logger = createLogger(emitter);
  const controller = new AbortController();
  const onSignal = (signal: NodeJS.Signals): void => {
    if (controller.signal.aborted) return;
    logger.warn(
      `Received ${signal}: stopping after the calls in flight; every finished record will be acknowledged.`,
    );
    controller.abort(signal);
  };
  process.on('SIGTERM', onSignal);
  process.on('SIGINT', onSignal);
  process.stdout.on('error', (error: NodeJS.ErrnoException) => {
    // The reader of stdout went away (EPIPE): nothing more can be said to it, so no record written
    // from now on could be acknowledged; stop as on SIGTERM (the rest goes in the next sync).
    if (error.code === 'EPIPE') {
      emitter.close();
      controller.abort('stdout closed');
    }
  });
  const ctx: CommandContext = { emitter, logger, redactor, stdin: process.stdin, signal: controller.signal };
  let code: number;
  try {
    code = await dispatch(parseArgs(argv), ctx);
  } catch (error) {
    await emitter.emit(errorTraceMessage(toConnectorError(error)));
    code = 1;
  }
  await logger.close();
  await emitter.flush();
  return code;
}

const fatal = (error: unknown): void => {
  // Last resort: something escaped every handler. One TRACE, then exit 1.
  // The emitter may be what failed, so this one line goes straight out.
  process.stdout.write(`${JSON.stringify(errorTraceMessage(toConnectorError(error)))}\n`);
  process.exit(1);
};
process.on('uncaughtException', fatal);
process.on('unhandledRejection', fatal);

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (error: unknown) => fatal(error),
);
