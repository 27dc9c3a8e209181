// Which account a login name belongs to: an email address of the account, or the
// account's name. Shared by IMAP and SMTP so both accept the same user names.
import { accountAddresses, resolveAddress, type DomainsConfig } from '../config/index.js';

/** The account and login address for a user name, or null when it is unknown. */
export function lookupLogin(
  cfg: DomainsConfig,
  username: string,
): { account: string; address: string } | null {
  const name = username.normalize('NFC');
  if (name.includes('@')) {
    const r = resolveAddress(cfg, name);
    if (r.kind === 'account') return { account: r.account, address: r.canonical };
    return null;
  }
  if (cfg.accounts[name]) return { account: name, address: accountAddresses(cfg, name)[0] ?? name };
  return null;
}
