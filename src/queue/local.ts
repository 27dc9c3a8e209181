// Local delivery: a queued message for an address of a configured domain goes straight
// into the account's mailbox. The queue file is hard-linked into the account (never
// copied); its MIME structure is parsed once per file, streaming, and kept a while for
// the file's other recipients.
import { createReadStream } from 'node:fs';
import type { Store } from '../store/store.js';
import type { PreparedMessage } from '../store/tempfile.js';
import { isStoreError } from '../store/errors.js';
import { resolveAddress, type AddressResolution, type AliasMember } from '../config/resolve.js';
import type { DomainsConfig } from '../config/domains.js';
import { MimeParser, type Part } from '../message/index.js';
import type { Logger } from '../log/index.js';
import type { QueueFiles } from './files.js';
import { formatAddress, formatPath } from './address.js';
import type { DeliveryOutcome, Path, QueueMessage } from './types.js';

export type LocalTarget = Exclude<AddressResolution, { kind: 'unknown-domain' }>;

type Parsed = { part: Part; header: Buffer };

/** Header bytes kept for threading fields (as the store keeps for incoming mail). */
const MAX_HEADER = 256 * 1024;
/** Parsed files kept for other recipients of the same file. */
const PARSE_CACHE = 32;

export const NO_SUCH_USER: DeliveryOutcome = {
  ok: false,
  permanent: true,
  code: 550,
  secode: '5.1.1',
  error: 'no such user',
  host: '',
};

const OVER_QUOTA: DeliveryOutcome = {
  ok: false,
  permanent: false,
  code: 452,
  secode: '4.2.2',
  error: 'account storage full',
  host: '',
};

const DELIVERED: DeliveryOutcome = {
  ok: true,
  permanent: false,
  code: 250,
  secode: '2.0.0',
  error: '',
  host: '',
};

type Target = { account: string; mailbox: string; deliveredTo: string[] };

export class LocalDelivery {
  private readonly parsed = new Map<number, Promise<Parsed>>();

  constructor(
    private readonly store: Store,
    private readonly files: QueueFiles,
    private readonly log: Logger,
  ) {}

  /** Drops the cached structure of a removed file. */
  forget(fileId: number): void {
    this.parsed.delete(fileId);
  }

  /**
   * Delivers one queued message to a local address. `explicit` lists the recipients
   * queued with the same file: alias members among them get their own copy only once.
   */
  async deliver(
    m: QueueMessage,
    target: LocalTarget,
    cfg: DomainsConfig,
    explicit: string[],
  ): Promise<DeliveryOutcome> {
    if (target.kind === 'unknown-user') return NO_SUCH_USER;
    const rcpt = formatAddress(m.recipient);
    const targets =
      target.kind === 'account'
        ? [{ account: target.account, mailbox: target.destination.mailbox, deliveredTo: [rcpt] }]
        : aliasTargets(target.members, target.canonical, cfg, m.sender, explicit);
    // Every member skipped (the sender, or explicit recipients): nothing left to do.
    if (targets.length === 0) return DELIVERED;
    const prepared = await this.prepared(m);
    let delivered = 0;
    const errors: unknown[] = [];
    for (const t of targets) {
      try {
        await this.deliverTo(m, prepared, t);
        delivered++;
      } catch (e) {
        this.log.warn({ err: e, account: t.account, queueId: m.id }, 'local delivery failed');
        if (delivered > 0) continue;
        errors.push(e);
        // A full mailbox of one member must not stop the others (each has its own quota);
        // any other error would likely repeat, so stop there.
        if (!isStoreError(e, 'overquota')) break;
      }
    }
    return delivered > 0 ? DELIVERED : failureOutcome(errors);
  }

  private async deliverTo(m: QueueMessage, prepared: PreparedMessage, t: Target): Promise<void> {
    const acc = await this.store.account(t.account);
    const prefix = Buffer.concat([deliveryPrefix(t.deliveredTo, m.sender), m.prefix]);
    await acc.addMessages(t.mailbox, [{ message: prepared, prefix }], { create: true });
    this.log.info(
      { queueId: m.id, account: t.account, mailbox: t.mailbox },
      'delivered to local account',
    );
  }

  /** The queue file as a PreparedMessage; the store links it, so cleanup does nothing. */
  private async prepared(m: QueueMessage): Promise<PreparedMessage> {
    const { part, header } = await this.parse(m.fileId);
    return {
      path: this.files.path(m.fileId),
      size: m.size - m.prefix.length,
      part,
      header,
      cleanup: async () => {},
      disown: () => {},
      durable: Promise.resolve(),
    };
  }

  private parse(fileId: number): Promise<Parsed> {
    let p = this.parsed.get(fileId);
    if (!p) {
      p = parseFile(this.files.path(fileId));
      this.parsed.set(fileId, p);
      p.catch(() => this.parsed.delete(fileId));
      if (this.parsed.size > PARSE_CACHE) {
        const oldest = this.parsed.keys().next().value as number;
        this.parsed.delete(oldest);
      }
    }
    return p;
  }
}

/** Delivered-To (RFC 9228 §4, newest first) and Return-Path (RFC 5321 §4.4) lines. */
export function deliveryPrefix(deliveredTo: string[], sender: Path | null): Buffer {
  let s = '';
  for (const a of deliveredTo) s += `Delivered-To: ${a}\r\n`;
  s += `Return-Path: ${formatPath(sender)}\r\n`;
  return Buffer.from(s, 'utf8');
}

/**
 * Alias members to deliver to: one copy per account mailbox, none for the sender (who
 * wrote it and does not need it back) and none for members that are explicit recipients
 * of the same message (they get their own).
 */
function aliasTargets(
  members: AliasMember[],
  aliasAddress: string,
  cfg: DomainsConfig,
  sender: Path | null,
  explicit: string[],
): Target[] {
  const skip = new Set<string>();
  for (const a of explicit) {
    const r = resolveAddress(cfg, a);
    if (r.kind === 'account') skip.add(r.canonical);
  }
  if (sender) {
    const r = resolveAddress(cfg, sender);
    if (r.kind === 'account') skip.add(r.canonical);
  }
  const seen = new Set<string>();
  const out: Target[] = [];
  for (const mem of members) {
    const key = `${mem.account}\0${mem.destination.mailbox}`;
    if (skip.has(mem.canonical) || seen.has(key)) continue;
    seen.add(key);
    out.push({
      account: mem.account,
      mailbox: mem.destination.mailbox,
      deliveredTo: [mem.canonical, aliasAddress],
    });
  }
  return out;
}

/**
 * Only quota errors give 452 4.2.2 (RFC 3463 X.2.2, mailbox full: the sender may retry
 * later); anything else is 451 4.3.0, a temporary error of ours.
 */
function failureOutcome(errors: unknown[]): DeliveryOutcome {
  if (errors.every((e) => isStoreError(e, 'overquota'))) return OVER_QUOTA;
  const first = errors.find((e) => !isStoreError(e, 'overquota'));
  const why = first instanceof Error ? first.message : String(first);
  return {
    ok: false,
    permanent: false,
    code: 451,
    secode: '4.3.0',
    error: `error delivering to local account: ${why}`,
    host: '',
  };
}

/** Parses a file's MIME structure while streaming it. */
async function parseFile(path: string): Promise<Parsed> {
  let header: Buffer | null = null;
  const parser = new MimeParser({
    onHeader: (_part, h) => {
      header ??= h.length > MAX_HEADER ? h.subarray(0, MAX_HEADER) : h;
    },
  });
  for await (const chunk of createReadStream(path)) parser.write(chunk as Buffer);
  const part = parser.end();
  return { part, header: header ?? Buffer.alloc(0) };
}
