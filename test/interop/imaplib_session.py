"""One IMAP session with Python's imaplib, for the interoperability tests.

Reads IMAP_HOST, IMAP_PORT, IMAPS_PORT, IMAP_USER, IMAP_PASSWORD, IMAP_CAFILE and IMAP_MESSAGES (a
JSON list of two messages) from the environment. Connects in plain text, upgrades with
STARTTLS (verifying the server certificate against IMAP_CAFILE), runs a fixed sequence
of commands, then does a short second session over implicit TLS with CRAM-MD5, and
prints every (status, data) pair as one JSON object on stdout.
"""

import imaplib
import json
import os
import ssl
import sys


def plain(v):
    """Turns imaplib's nested bytes/tuples into JSON-friendly strings and lists."""
    if isinstance(v, bytes):
        return v.decode("utf-8", "backslashreplace")
    if isinstance(v, (list, tuple)):
        return [plain(x) for x in v]
    return v


def main():
    env = os.environ
    messages = json.loads(env["IMAP_MESSAGES"])
    out = {}

    def step(name, result):
        typ, data = result
        out[name] = [typ, plain(data)]

    imap = imaplib.IMAP4(env["IMAP_HOST"], int(env["IMAP_PORT"]), timeout=10)
    try:
        out["capabilities_plain"] = sorted(
            c for c in imap.capabilities if c in ("STARTTLS", "LOGINDISABLED", "AUTH=PLAIN")
        )
        ctx = ssl.create_default_context(cafile=env["IMAP_CAFILE"])
        step("starttls", imap.starttls(ssl_context=ctx))
        out["capabilities_tls"] = sorted(
            c for c in imap.capabilities if c in ("STARTTLS", "LOGINDISABLED", "AUTH=PLAIN")
        )
        step("login", imap.login(env["IMAP_USER"], env["IMAP_PASSWORD"]))
        step("list", imap.list())
        step("status", imap.status("INBOX", "(MESSAGES UNSEEN UIDNEXT)"))
        step("select", imap.select("INBOX"))
        out["select_uidvalidity"] = plain(imap.response("UIDVALIDITY")[1])
        out["select_uidnext"] = plain(imap.response("UIDNEXT")[1])

        date = imaplib.Time2Internaldate(1743500000)  # 2025-04-01T09:33:20Z
        step("append_plain", imap.append("INBOX", None, date, messages[0].encode()))
        step("append_flagged", imap.append("INBOX", r"(\Flagged)", date, messages[1].encode()))

        step("search_all", imap.search(None, "ALL"))
        step("search_unseen", imap.search(None, "UNSEEN"))
        step("search_subject", imap.search(None, "SUBJECT", '"python"'))
        step("search_subject_none", imap.search(None, "SUBJECT", '"no such words"'))
        # A UTF-8 search string as a literal (RFC 9051 §6.4.4 CHARSET).
        imap.literal = "GRÜSSE".encode("utf-8")
        step("search_utf8_literal", imap.search("UTF-8", "SUBJECT"))
        step("uid_search", imap.uid("SEARCH", "UID", "2:*"))
        # SORT (RFC 5256) through imaplib's own sort().
        step("sort_arrival", imap.sort("(REVERSE ARRIVAL)", "UTF-8", "ALL"))
        step("uid_sort", imap.uid("SORT", "(SIZE)", "UTF-8", "UID", "2:3"))
        step("thread", imap.thread("ORDEREDSUBJECT", "UTF-8", "ALL"))
        step("uid_fetch", imap.uid("FETCH", "3", "(UID RFC822.SIZE INTERNALDATE)"))

        step("fetch_rfc822", imap.fetch("2", "(RFC822)"))
        step("fetch_flags", imap.fetch("1:3", "(FLAGS)"))
        step("fetch_header", imap.fetch("3", "(BODY.PEEK[HEADER])"))
        step("fetch_flags_after_peek", imap.fetch("3", "(FLAGS)"))
        step("search_unseen_after_fetch", imap.search(None, "UNSEEN"))

        step("store_deleted", imap.store("1", "+FLAGS", r"(\Deleted)"))
        step("expunge", imap.expunge())
        step("search_all_after_expunge", imap.search(None, "ALL"))
        step("fetch_subjects", imap.fetch("1:*", "(BODY.PEEK[HEADER.FIELDS (SUBJECT)])"))
        step("close", imap.close())
    finally:
        step("logout", imap.logout())

    # A second session: implicit TLS (IMAPS) and CRAM-MD5 (RFC 2195).
    ctx = ssl.create_default_context(cafile=env["IMAP_CAFILE"])
    imaps = imaplib.IMAP4_SSL(env["IMAP_HOST"], int(env["IMAPS_PORT"]), ssl_context=ctx, timeout=10)
    try:
        step("cram_md5", imaps.login_cram_md5(env["IMAP_USER"], env["IMAP_PASSWORD"]))
        step("imaps_examine", imaps.select("INBOX", readonly=True))
    finally:
        step("imaps_logout", imaps.logout())
    json.dump(out, sys.stdout, sort_keys=True)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
