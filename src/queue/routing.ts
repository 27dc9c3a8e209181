// Which way a queued message leaves: directly to the recipient domain's MX hosts, or
// through a configured smarthost. Routes are tried in order; the first match wins.
import type { RouteConfig, TransportConfig } from '../config/index.js';
import type { QueueMessage } from './types.js';

export type Route =
  { kind: 'direct' } | { kind: 'smarthost'; name: string; transport: TransportConfig };

export type RoutingConfig = {
  routes: RouteConfig[];
  transports: Record<string, TransportConfig>;
};

const DIRECT: Route = { kind: 'direct' };

function matches(list: string[], value: string): boolean {
  return list.length === 0 || list.includes(value);
}

/** The route of a message: by sender domain, recipient domain and account. */
export function routeFor(cfg: RoutingConfig, m: QueueMessage): Route {
  const from = m.sender?.domain.toLowerCase() ?? '';
  const to = m.recipient.domain.toLowerCase();
  for (const r of cfg.routes) {
    if (!matches(r.from_domains, from) || !matches(r.to_domains, to)) continue;
    if (!matches(r.accounts, m.account)) continue;
    if (r.transport === 'direct') return DIRECT;
    const transport = cfg.transports[r.transport];
    // The config loader refuses unknown names; direct is the safe reading otherwise.
    return transport ? { kind: 'smarthost', name: r.transport, transport } : DIRECT;
  }
  return DIRECT;
}

/** A key equal for messages that take the same route. */
export function routeKey(r: Route): string {
  return r.kind === 'direct' ? 'direct' : `smarthost:${r.name}`;
}
