// Running the server in the foreground until SIGINT or SIGTERM, then shutting down cleanly.
import type { Server } from '../server/server.js';

export function runUntilSignal(server: Server, onStopped?: () => void): Promise<void> {
  return new Promise((resolve) => {
    let signals = 0;
    const handler = (sig: NodeJS.Signals) => {
      signals++;
      if (signals > 1) {
        server.log.warn({ signal: sig }, 'second signal, exiting immediately');
        process.exit(1);
      }
      server.log.info({ signal: sig }, 'shutting down');
      void server.stop().then(() => {
        process.off('SIGINT', handler);
        process.off('SIGTERM', handler);
        server.log.info('stopped');
        onStopped?.();
        resolve();
      });
    };
    process.on('SIGINT', handler);
    process.on('SIGTERM', handler);
  });
}
