import type { Command } from 'commander';
import { Server } from '../server/server.js';
import { configDirOption, loadConfigOrExit } from './common.js';
import { runUntilSignal } from './run.js';

export function registerServe(program: Command): void {
  configDirOption(
    program.command('serve').description('start the mail server with the configuration directory'),
  ).action(async (o: { config: string }) => {
    loadConfigOrExit(o.config); // config errors: message and status 2, before anything starts
    const server = await Server.start({ configDir: o.config });
    const stopped = runUntilSignal(server);
    for (const l of server.listening) {
      server.log.info(
        { listener: l.listener, service: l.service, host: l.host, port: l.port },
        'listening',
      );
    }
    await stopped;
  });
}
