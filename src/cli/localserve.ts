import type { Command } from 'commander';
import { join } from 'node:path';
import {
  LOCALSERVE_ADDRESS,
  LOCALSERVE_PASSWORD,
  localserveDir,
  startLocalserve,
} from '../server/localserve.js';
import { runUntilSignal } from './run.js';

export function registerLocalserve(program: Command): void {
  program
    .command('localserve')
    .description(
      'run a local mail server for testing, without root and without configuration ' +
        '(state in $TIDINGS_LOCALSERVE_DIR, default ~/.config/tidings-localserve)',
    )
    .action(async () => {
      const dir = localserveDir();
      const { server, configDir, created } = await startLocalserve(dir);
      // Handlers first: a Ctrl-C right after the banner must already shut down cleanly.
      const stopped = runUntilSignal(server);
      const out = process.stdout;
      out.write(`\nTidings localserve ${created ? 'created and ' : ''}running from ${dir}\n`);
      out.write(`  config: ${configDir}\n  data:   ${server.staticConfig.data_dir}\n`);
      out.write(`  login:  ${LOCALSERVE_ADDRESS}  password: ${LOCALSERVE_PASSWORD}\n`);
      const seen = new Set<string>();
      for (const l of server.listening) {
        const key = `${l.service}:${l.port}`;
        if (seen.has(key)) continue;
        seen.add(key);
        const hosts = server.listening
          .filter((x) => x.service === l.service && x.port === l.port)
          .map((x) => x.host);
        out.write(`  ${l.service.padEnd(12)} ${hosts.join(', ')} port ${l.port}\n`);
      }
      out.write(
        `  certificate: ${join(configDir, 'localhost.crt')} (self-signed)\nPress Ctrl-C to stop.\n\n`,
      );
      await stopped;
    });
}
