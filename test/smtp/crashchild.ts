// Child process for the SMTP crash test: a whole server started from <dir>/config (an smtp
// listener on a free port, the store under <dir>/data). It prints "port <n>" once it
// listens and then serves until the test kills it.
import { join } from 'node:path';
import { Server } from '../../src/server/server.js';
import { MockResolver } from '../../src/dns/index.js';
import { createLogger } from '../../src/log/index.js';

const dir = process.argv[2];
if (!dir) throw new Error('usage: crashchild.ts <dir>');

const server = await Server.start({
  configDir: join(dir, 'config'),
  log: createLogger({ level: process.env.TIDINGS_TEST_LOG ?? 'error' } as never),
  // The sender's domain must accept mail (RFC 7505 null MX check at MAIL).
  resolver: new MockResolver({
    mx: { 'sender.example': [{ exchange: 'mx.sender.example', priority: 10 }] },
  }),
});
const smtp = server.listening.find((l) => l.service === 'smtp');
if (!smtp) throw new Error('no smtp listener');
process.stdout.write(`port ${smtp.port}\n`);
