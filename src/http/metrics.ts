// The Prometheus scrape endpoint: GET /metrics in the text exposition format.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { Registry } from 'prom-client';
import type { Logger } from '../log/index.js';
import { listenOn } from '../net/listen.js';

export interface MetricsServerOptions {
  host: string;
  /** 0 picks a free port; the chosen port is returned. */
  port: number;
  registry: Registry;
  log: Logger;
}

export interface MetricsServer {
  port: number;
  close(): Promise<void>;
}

export async function startMetricsServer(opts: MetricsServerOptions): Promise<MetricsServer> {
  const log = opts.log.child({ listener: 'metrics' });
  const server = createServer((req, res) => {
    handle(req, res, opts.registry).catch((err: unknown) => {
      log.error({ err }, 'metrics request failed');
      if (!res.headersSent) reply(res, 500, 'internal server error\n');
      else res.destroy();
    });
  });
  const port = await listenOn(server, opts.host, opts.port, 'metrics listener');
  log.info({ host: opts.host, port }, 'metrics listener started');
  return { port, close: () => close(server) };
}

async function handle(req: IncomingMessage, res: ServerResponse, registry: Registry) {
  const path = (req.url ?? '/').split('?', 1)[0];
  if (path !== '/metrics') return reply(res, 404, 'not found\n');
  // RFC 9110 §15.5.6: a 405 lists the allowed methods.
  if (req.method !== 'GET' && req.method !== 'HEAD') {
    res.setHeader('Allow', 'GET, HEAD');
    return reply(res, 405, 'method not allowed\n');
  }
  const body = await registry.metrics();
  res.writeHead(200, {
    'Content-Type': registry.contentType,
    'Content-Length': Buffer.byteLength(body),
    'Cache-Control': 'no-store',
  });
  res.end(req.method === 'HEAD' ? undefined : body);
}

function reply(res: ServerResponse, status: number, text: string): void {
  res.writeHead(status, {
    'Content-Type': 'text/plain; charset=utf-8',
    'Content-Length': Buffer.byteLength(text),
  });
  res.end(text);
}

function close(server: Server): Promise<void> {
  return new Promise((resolve, reject) => {
    server.close((err) => (err ? reject(err) : resolve()));
    // Idle keep-alive connections would otherwise hold close() open.
    server.closeIdleConnections();
  });
}
