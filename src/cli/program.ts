// The `tidings` command. Each subcommand lives in its own file and registers itself here.
import { Command, CommanderError } from 'commander';
import { registerServe } from './serve.js';
import { registerLocalserve } from './localserve.js';
import { registerAccount } from './account.js';
import { registerSetpassword } from './setpassword.js';
import { registerConfig } from './config.js';
import { registerVerifydata } from './verifydata.js';
import { registerVersion } from './version.js';
import { registerQueue, registerSuppression } from './queue.js';
import { registerDkim } from './dkim.js';
import { registerReport } from './report.js';
import { registerJunk } from './junk.js';
import { registerBackup } from './backup.js';
import { registerImportExport } from './importexport.js';
import { UsageError, CliError } from './common.js';
import { ConfigError } from '../config/index.js';
import { StartupError } from '../server/startup.js';
import { MailFileError } from '../message/index.js';

export function buildProgram(): Command {
  const program = new Command('tidings')
    .description('Tidings: a complete mail server for self-hosting')
    .showHelpAfterError()
    .exitOverride();
  registerServe(program);
  registerLocalserve(program);
  registerAccount(program);
  registerSetpassword(program);
  registerConfig(program);
  registerVerifydata(program);
  registerQueue(program);
  registerDkim(program);
  registerSuppression(program);
  registerReport(program);
  registerJunk(program);
  registerBackup(program);
  registerImportExport(program);
  registerVersion(program);
  program.commands.forEach(function override(c: Command) {
    c.exitOverride().showHelpAfterError();
    c.commands.forEach(override);
  });
  return program;
}

export async function main(argv: string[]): Promise<number> {
  const program = buildProgram();
  try {
    await program.parseAsync(argv, { from: 'user' });
    return typeof process.exitCode === 'number' ? process.exitCode : 0;
  } catch (e) {
    if (e instanceof CommanderError) {
      if (e.code === 'commander.helpDisplayed' || e.code === 'commander.version') return 0;
      if (e.code === 'commander.help') return 0;
      return 2; // commander already printed the message and usage
    }
    if (e instanceof UsageError) {
      process.stderr.write(`tidings: ${e.message}\n`);
      return 2;
    }
    if (e instanceof CliError) {
      process.stderr.write(`tidings: ${e.message}\n`);
      return e.status;
    }
    // Problems with the configuration or the machine: the message says what to fix.
    if (e instanceof ConfigError) {
      process.stderr.write(`tidings: ${e.message}\n`);
      return 2;
    }
    // A mail file or directory that cannot be read: its path and what is wrong.
    if (e instanceof StartupError || e instanceof MailFileError) {
      process.stderr.write(`tidings: ${e.message}\n`);
      return 1;
    }
    process.stderr.write(`tidings: ${(e as Error).stack ?? String(e)}\n`);
    return 1;
  }
}
