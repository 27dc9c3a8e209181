// The HTTP listener: for now a small page that says what runs here. Admin, account and
// webmail pages are served here later.
import http from 'node:http';
import { listenOn, type Service } from '../net/index.js';
import { PRODUCT, VERSION } from '../version.js';

export async function startInfoServer(o: {
  host: string;
  port: number;
  hostname: string;
}): Promise<Service> {
  const server = http.createServer((req, res) => {
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { allow: 'GET, HEAD' }).end();
      return;
    }
    if (req.url !== '/') {
      res.writeHead(404, { 'content-type': 'text/plain; charset=utf-8' }).end('not found\n');
      return;
    }
    res
      .writeHead(200, { 'content-type': 'text/plain; charset=utf-8' })
      .end(`${PRODUCT} ${VERSION} mail server at ${o.hostname}\n`);
  });
  const port = await listenOn(server, o.host, o.port, 'http listener');
  return {
    port,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
