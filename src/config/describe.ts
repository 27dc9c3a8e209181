// Annotated examples of both configuration files: every key, its meaning and default.

const staticExample = `# tidings.toml: static settings of the Tidings mail server. A restart applies changes.
# Sizes are bytes, or text with a unit: "512 KiB", "100 MiB", "2 GB".
# Durations are text such as "500ms", "15s", "1m30s" or "2h".
# Unknown keys are errors, so a typo cannot go unnoticed.

# Name of this machine in DNS, used in SMTP greetings and Received headers. Required.
# International names are converted to their ASCII (IDNA) form.
hostname = "mail.example.com"

# Directory for accounts, messages and the queue; relative to this file's directory.
# Default "../data".
data_dir = "../data"

# error, warn, info, debug, trace (protocol traces), traceauth (also credentials) or
# tracedata (also message contents). Default "info".
log_level = "info"

[limits]
# Largest message accepted, over SMTP and IMAP APPEND. Default "100 MiB".
max_message_size = "100 MiB"
# Storage for an account that sets no quota of its own; 0 means unlimited. Default 0.
default_quota = 0
# Messages an account that sets no limit of its own may hold; 0 means unlimited. Default 0.
default_quota_messages = 0
# Messages one account may send in 24 hours. Default 1000.
max_outgoing_messages_per_day = 1000
# Recipients not written to before that one account may send to in 24 hours. Default 200.
max_first_time_recipients_per_day = 200
# Failed logins allowed per network, for the three network sizes IPv4 /32, /26, /21 and
# IPv6 /64, /48, /32. Defaults [10, 30, 90] per minute and [50, 150, 450] per day.
failed_auth_per_minute = [10, 30, 90]
failed_auth_per_day = [50, 150, 450]

[limits.imap]
# Longest command line, in bytes (at least 1024). Default 65536: an ID command at the
# sizes RFC 2971 allows is about 32 KiB.
max_line_length = 65536
# Largest single literal in a command; APPEND is bounded by quota instead. Default "100 KiB".
max_literal_size = "100 KiB"
# All literals of one command together. Default "1000 KiB".
max_literal_total = "1000 KiB"
# Number of literals in one command. Default 1000.
max_literals = 1000
# Open connections per network (three sizes as above). Default [30, 90, 270].
max_connections = [30, 90, 270]
# New connections per minute per network. Default [300, 900, 2700].
connection_rate_per_minute = [300, 900, 2700]

[limits.smtp]
# Longest command line, in bytes (at least 512). Default 2048.
max_line_length = 2048
# Recipients per message (at least 100, RFC 5321). Default 1000.
max_recipients = 1000
# More Received header fields than this is a mail loop. Default 100.
max_received_headers = 100
# Failed transactions, with none successful, before disconnecting. Default 10.
max_bad_transactions = 10
# Open connections per network. Default [30, 90, 270].
max_connections = [30, 90, 270]
# New connections per minute per network. Default [300, 900, 2700].
connection_rate_per_minute = [300, 900, 2700]

[delays]
# Delay before accepting mail from a sender never seen before. Default "15s".
first_time_sender = "15s"
# Extra wait per failed login after the third one. Default "1s".
auth_fail = "1s"
# Pause before each read and per byte written to misbehaving clients. Default "1s".
bad_client = "1s"
# SMTP: wait before rejecting a message whose recipients are all unknown, which slows
# down address guessing. Default "5s".
unknown_recipients = "5s"

# The outgoing queue.
[queue]
# Delivery attempts in progress at once. Default 20.
max_concurrent = 20
# Connections at once to one destination host. Default 5.
max_per_host = 5
# First retry after a temporary failure; each later one waits twice as long, up to 16
# hours. Default "7m30s".
retry_base = "7m30s"
# Give up and send a failure notice after this long. Default "120h" (5 days).
give_up_after = "120h"
# Tell the sender about a delay after this long (if the sender asked to be told).
# Default "4h".
delay_dsn_after = "4h"
# Fetch recipient domains' MTA-STS policies and enforce them (RFC 8461). Default true.
mta_sts = true

# The DNS servers asked for every lookup (MX, SPF, DKIM, DMARC, MTA-STS, blocklists).
[dns]
# IP addresses, optionally with a port. Default [] (the system's, from
# /etc/resolv.conf). A local validating resolver (unbound, for example) is how to get
# DNSSEC.
servers = ["127.0.0.1", "[::1]:53"]
# How long to wait for an answer, per try. Default "5s".
timeout = "5s"
# How often each server is tried. Default 3.
tries = 3
# "stub": Tidings asks the servers itself and sees whether a validating resolver
# authenticated an answer with DNSSEC (the AD bit); the iprev and SPF results of
# incoming mail then say "with dnssec" or "without dnssec". "system": the resolver
# built into Node.js (c-ares), which cannot tell, so the headers say nothing about it.
# Default "stub".
resolver = "stub"
# The AD bit is believed only from servers on a loopback address (127.0.0.1, ::1): from
# anywhere else, whoever can forge or alter the UDP answers could set it (RFC 4035
# §4.9.3). true believes it from every server listed above: only for resolvers reached
# over a path no one else can tamper with. Needs servers and resolver "stub".
# Default false.
trust_ad = false

# Verification of incoming mail on port 25: iprev, SPF, DKIM, ARC and DMARC.
[incoming]
# Forwarders, by the domain of their ARC seal (d= of the last ARC-Seal), whose valid
# ARC chain overrides a DMARC failure for every account (RFC 8617 §7.2.1): for example
# a mailing list service that rewrites messages. Default [].
trusted_arc_sealers = ["lists.example.net"]
# How long each verification may take; a lookup that takes longer counts as a
# temporary error. Default "60s".
verify_timeout = "60s"

# Reports this server sends to other domains, each once its period is over, from
# postmaster@<hostname> (DKIM-signed when the host name is a configured domain).
[reports]
# DMARC aggregate reports (RFC 7489 §7.2) to the rua addresses of the DMARC records of
# the domains whose mail arrived here, per period the record asks for (ri, whole hours,
# at most a day). Default true.
outgoing_dmarc = true
# SMTP TLS reports (RFC 8460) to the mailto and https rua addresses of the TLSRPT records of the
# domains mail was delivered to, once per UTC day: TLS sessions that worked and that
# failed, and MTA-STS policies that could not be had. Default true.
outgoing_tls = true
# Received DMARC and TLS reports are removed this many days after they arrived.
# Default 365.
keep_received_days = 365

# Smarthosts: servers that take outgoing mail on our behalf. Routes choose them.
[transports.provider]
# Host name or IP address of the smarthost. Required. A name is looked up as other
# programs on this machine do: the hosts file (so "localhost" works), then DNS. With an
# IP address and verify_certificate, the certificate must name that address.
host = "smtp.provider.example"
# Default 465 with tls "implicit", 587 with "starttls", 25 otherwise.
port = 587
# "starttls" (STARTTLS required), "implicit" (TLS from the first byte), "opportunistic"
# (STARTTLS when offered) or "none". Default "starttls".
tls = "starttls"
# Check the smarthost's certificate. Default true.
verify_certificate = true
# PEM certificates to trust instead of the system's. Optional.
ca_file = "tls/provider-ca.pem"
# Login for SMTP AUTH (SCRAM-SHA-256, SCRAM-SHA-1 or PLAIN); the file holds the
# password on its first line. Optional, but both or neither.
username = "user@provider.example"
password_file = "provider.password"

# Routes pick a transport for outgoing mail; the first that matches wins, and without a
# match mail goes directly to the recipient domain's MX hosts. Empty lists match all.
[[routes]]
# Sender (MAIL FROM) domains. Default [].
from_domains = ["example.com"]
# Recipient domains. Default [].
to_domains = []
# Sending accounts. Default [].
accounts = []
# A transport name, or "direct". Required.
transport = "provider"

# One table per listener; at least one. A listener is a set of addresses with services.
# Every service is off unless "enabled = true".
[listeners.public]
# Addresses to listen on. Default ["0.0.0.0", "::"] (all IPv4 and IPv6 addresses).
ips = ["0.0.0.0", "::"]
# Name announced by this listener. Default: the global hostname.
hostname = "mail.example.com"

# Certificates, required by submissions and imaps, and by submission and imap unless
# they set no_require_starttls. Relative paths are relative to this file's directory.
[listeners.public.tls]
# PEM certificate chain and its private key, as a pair.
cert_file = "tls/mail.example.com.crt"
key_file = "tls/mail.example.com.key"
# More certificates (for example an ECDSA and an RSA one, or other names).
keys = [{ cert_file = "tls/mail-rsa.crt", key_file = "tls/mail-rsa.key" }]

# Incoming mail from other servers.
[listeners.public.smtp]
# Turns the service on. Default false, for every service.
enabled = true
# Default 25.
port = 25
# Refuse mail over connections without STARTTLS. Default false.
require_starttls = false
# Do not announce REQUIRETLS (RFC 8689). Default false.
no_require_tls = false
# Overrides [delays] first_time_sender for this listener.
first_time_sender_delay = "15s"
# DNS blocklists (RFC 5782) the connecting address is looked up in. A list is used only
# while it answers its test entries as RFC 5782 §5 requires (127.0.0.2 listed, 127.0.0.1
# not): one that lists everything, nothing, or does not answer is left out and logged.
# Many lists refuse queries that come through public resolvers. Default none.
dnsbls = ["dnsbl.example.net", "bl.example.org"]

# Mail submission by users, with STARTTLS.
[listeners.public.submission]
enabled = true
# Default 587.
port = 587
# Allow login and submission without TLS. Default false.
no_require_starttls = false
# SASL mechanisms to announce and accept. Default: all of them, strongest first:
# SCRAM-SHA-256-PLUS, SCRAM-SHA-256, SCRAM-SHA-1-PLUS, SCRAM-SHA-1, CRAM-MD5, PLAIN, LOGIN
# and EXTERNAL (the last only with a client certificate). -PLUS mechanisms are never
# announced without TLS. Leave them out for clients that choose one but cannot bind.
auth_mechanisms = ["SCRAM-SHA-256-PLUS", "SCRAM-SHA-256", "PLAIN", "LOGIN"]

# Mail submission by users over TLS from the first byte.
[listeners.public.submissions]
enabled = true
# Default 465.
port = 465
# As for submission.
auth_mechanisms = ["SCRAM-SHA-256", "PLAIN", "LOGIN"]

# IMAP with STARTTLS.
[listeners.public.imap]
enabled = true
# Default 143.
port = 143
# Allow login without TLS. Default false.
no_require_starttls = false
# As for submission; IMAP has its own LOGIN command, allowed where PLAIN is.
auth_mechanisms = ["SCRAM-SHA-256-PLUS", "SCRAM-SHA-256", "PLAIN"]

# IMAP over TLS from the first byte.
[listeners.public.imaps]
enabled = true
# Default 993.
port = 993
# As for imap.
auth_mechanisms = ["SCRAM-SHA-256", "PLAIN"]

# Web services.
[listeners.public.http]
enabled = false
# Default 80.
port = 80

# Prometheus metrics at /metrics; keep it off public addresses.
[listeners.public.metrics]
enabled = false
# Default 8010.
port = 8010

[listeners.internal]
ips = ["127.0.0.1", "::1"]

[listeners.internal.metrics]
enabled = true
port = 8010
`;

const domainsExample = `# domains.toml: domains, accounts and aliases of the Tidings mail server.
# Changes are picked up while running; a file with errors is ignored (the error is logged)
# and the previous version stays in use. Unknown keys are errors.

# Who gets mail for postmaster at every domain (RFC 5321 requires it), and for a bare
# "<postmaster>", unless postmaster@<domain> is configured as an address of its own.
# Optional; without it, only configured postmaster addresses take mail.
[postmaster]
# The account. It must be configured below.
account = "alice"
# Its mailbox for this mail. Default "Inbox".
mailbox = "Postmaster"

# Mailboxes created for each new account. Special-use mailboxes are found by their role,
# so these may be renamed later.
[initial_mailboxes]
# Default "Archive".
archive = "Archive"
# Default "Drafts".
drafts = "Drafts"
# Default "Junk".
junk = "Junk"
# Default "Sent".
sent = "Sent"
# Default "Trash".
trash = "Trash"
# More mailboxes, "/" separates levels. Default [].
regular = []

# Domains mail is accepted for. Names are case-insensitive; international names are
# converted to ASCII (IDNA).
[domains."example.com"]
# Free text. Optional.
description = "Main domain"
# Characters that start an extension: with "+", "alice+news@example.com" reaches the
# destination "alice@example.com". Default [].
localpart_catchall_separators = ["+"]
# Whether "Alice" and "alice" are different addresses. Default false.
localpart_case_sensitive = false

[domains."example.com".dkim]
# Selectors whose keys sign outgoing messages. Default [].
sign = ["mail2025"]

# A DKIM key, published in DNS as mail2025._domainkey.example.com.
[domains."example.com".dkim.selectors.mail2025]
# PEM private key (RSA or Ed25519); relative to this file's directory. Required.
private_key_file = "dkim/example.com-mail2025.key"
# Hash algorithm. Only "sha256". Default "sha256".
hash = "sha256"
# Header fields to sign; must include From. Default: a built-in list.
headers = ["From", "To", "Cc", "Reply-To", "Subject", "Date", "Message-ID", "In-Reply-To", "References", "MIME-Version", "Content-Type"]
# How long signatures stay valid. Default: no expiry.
expiration = "72h"

[domains."example.org"]

# Accounts: a name (letters, digits, ".", "-", "_"; at most 64) with a mail store.
[accounts.alice]
# Domain for destinations written as a bare localpart. Required.
domain = "example.com"
# Name used in From when sending. Optional.
full_name = "Alice Example"
# Storage limit in bytes or with a unit; 0 means [limits] default_quota. Default 0.
quota = "10 GiB"
# Most messages, in all mailboxes together; 0 means [limits] default_quota_messages. Default 0.
quota_messages = 500000
# Mailbox for rejected (junk-classified) messages, for reviewing them. Default: none.
rejects_mailbox = "Rejects"
# Keep rejects instead of removing old ones. Default false.
keep_rejects = false
# Deliver mail from new senders without the first-time-sender delay. Default false.
no_first_time_sender_delay = false
# ARC sealers trusted by this account in addition to [incoming] trusted_arc_sealers of
# tidings.toml. Default [].
trusted_arc_sealers = ["forwarder.example.net"]
# From domains, with their subdomains, whose DMARC policy this account does not enforce:
# their failing messages are delivered (and recorded as a local-policy override).
# Default [].
allow_dmarc_failures_from = ["newsletter.example.net"]
# Overrides of the [limits] values of tidings.toml for this account.
max_outgoing_messages_per_day = 2000
max_first_time_recipients_per_day = 400

# Overrides [initial_mailboxes] for this account. Optional.
[accounts.alice.initial_mailboxes]
archive = "Archive"
drafts = "Drafts"
junk = "Junk"
sent = "Sent"
trash = "Trash"
regular = ["Lists", "Lists/Tidings"]

# The account's Bayesian junk filter: it learns from the messages the account keeps and
# the ones it marks as junk, in accounts/alice/junk.db. Mailboxes are given by name, or
# by special-use attribute ("\\\\Junk") for whichever mailbox has that role. Messages
# flagged $Junk count as junk and messages flagged $NotJunk as not junk, wherever they
# are; other mailboxes are not learned from. \`tidings junk retrain\` relearns everything.
[accounts.alice.junk_filter]
# Classify and learn. Default true.
enabled = true
# At or above this probability (0..1) a message is junk. Default 0.95.
threshold = 0.95
# Messages here are learned as not junk. Default ["Inbox", "\\\\Archive"].
ham_mailboxes = ["Inbox", "\\\\Archive", "Lists"]
# Messages here are learned as junk. Default ["\\\\Junk"].
spam_mailboxes = ["\\\\Junk"]
# Tokens kept at most (at least 1000); beyond it the rarest, least recently seen are
# removed. About 20 bytes each on disk. Default 500000.
max_tokens = 500000

# Addresses delivered to this account: full addresses or bare localparts at the account's
# domain; "@example.org" catches every otherwise unknown address at that domain. At
# least one. Each address belongs to one account and is not also an alias.
[accounts.alice.destinations.alice]
# Mailbox that receives this address's mail. Default "Inbox".
mailbox = "Inbox"
# Name for this address when sending. Optional.
full_name = "Alice Example"

# Rules for incoming mail to this address, tried in order; the first whose conditions
# all hold applies, and is named in X-Tidings-Reason. Conditions (at least one):
# smtp_mail_from and msg_from are regular expressions (case-insensitive) on MAIL FROM
# and the From address; verified_domain needs a passing DKIM signature or SPF for MAIL
# FROM of that domain or a subdomain; headers maps field names to regular expressions
# on their values (in TOML, a literal string in single quotes keeps backslashes).
[[accounts.alice.destinations.alice.rules]]
# Free text, shown in X-Tidings-Reason. Optional.
comment = "the tidings list"
smtp_mail_from = '@lists\\.example\\.org$'
msg_from = '@example\\.net$'
verified_domain = "lists.example.org"
headers = { "list-id" = '<tidings\\.lists\\.example\\.org>' }
# A mailing list: mail verified for this domain is accepted, even where its posters'
# DMARC fails, and without the first-time-sender delay. Optional.
list_allow_domain = "lists.example.org"
# A forward: DMARC of the original sender is not enforced, the forwarder's address is
# not looked up in blocklists, and only the From address's history counts. Default false.
is_forward = false
# Deliver what would be refused here instead. Optional.
accept_rejects_to_mailbox = "Lists/Maybe"
# Mailbox for matching mail. Default: the destination's.
mailbox = "Lists/Tidings"

# Reports arrive at this address: "dmarc" (aggregate reports, RFC 7489) or "tls"
# (RFC 8460). Each one from a verified sender about one of these domains is stored for
# "tidings report", and the message is delivered read. Optional.
[accounts.alice.destinations."dmarc-reports@example.com"]
reports = "dmarc"

[accounts.alice.destinations."postmaster@example.com"]
mailbox = "Postmaster"

[accounts.bob]
domain = "example.com"
# Refuse logins with this message; mail is still delivered. Default: logins allowed.
login_disabled = "Account suspended, ask the administrator."

[accounts.bob.destinations."bob@example.com"]

[accounts.bob.destinations."@example.org"]

# Aliases: an address that delivers to several account addresses.
[aliases."team@example.com"]
# Account destination addresses. At least one.
members = ["alice@example.com", "bob@example.com"]
# Anyone may send to the alias; otherwise only its members. Default false.
post_public = false
# Members may see the other members. Default false.
list_members = false
# Members may send with the alias as From. Default false.
allow_msg_from = false
`;

/** An annotated tidings.toml with every key, what it does and its default. */
export function describeStatic(): string {
  return staticExample;
}

/** An annotated domains.toml with every key, what it does and its default. */
export function describeDomains(): string {
  return domainsExample;
}
