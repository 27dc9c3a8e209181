"""One IMAP session with Python's imaplib, for the interoperability tests.

Reads IMAP_HOST, IMAP_PORT, IMAPS_PORT, IMAP_USER, IMAP_PASSWORD, IMAP_CAFILE and IMAP_MESSAGES (a
JSON list of two messages) from the environment. Connects in plain text, upgrades with
STARTTLS (verifying the server certificate against IMAP_CAFILE), runs a fixed sequence
of commands, then does a short second session over implicit TLS with CRAM-MD5, and a
third one with COMPRESS=DEFLATE, and prints every (status, data) pair as one JSON
object on stdout.
"""

import imaplib
import json
import os
import ssl
import sys
import zlib

# imaplib checks a command's state against its table; COMPRESS is not in it.
imaplib.Commands.setdefault("COMPRESS", ("AUTH", "SELECTED"))


class CompressedIMAP4_SSL(imaplib.IMAP4_SSL):
    """imaplib over COMPRESS=DEFLATE (RFC 4978). imaplib has no support of its own, so
    reads and writes are wrapped the way client libraries add it: raw deflate both
    ways, each write sync-flushed."""

    _inflate = None
    _deflate = None
    _pending = b""

    def compress(self):
        typ, data = self._simple_command("COMPRESS", "DEFLATE")
        if typ == "OK":
            self._inflate = zlib.decompressobj(-15)
            self._deflate = zlib.compressobj(zlib.Z_DEFAULT_COMPRESSION, zlib.DEFLATED, -15)
        return typ, data

    def send(self, data):
        if self._deflate is None:
            return super().send(data)
        self.sock.sendall(self._deflate.compress(data) + self._deflate.flush(zlib.Z_SYNC_FLUSH))

    def _fill(self):
        while not self._pending:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise self.abort("connection closed")
            self._pending = self._inflate.decompress(chunk)

    def read(self, size):
        if self._inflate is None:
            return super().read(size)
        out = b""
        while len(out) < size:
            self._fill()
            take = self._pending[: size - len(out)]
            self._pending = self._pending[len(take):]
            out += take
        return out

    def readline(self):
        if self._inflate is None:
            return super().readline()
        line = b""
        while not line.endswith(b"\n"):
            self._fill()
            i = self._pending.find(b"\n")
            if i < 0:
                line, self._pending = line + self._pending, b""
            else:
                line, self._pending = line + self._pending[: i + 1], self._pending[i + 1:]
        return line


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

    # A third: COMPRESS=DEFLATE, then SORT, THREAD and FETCH through it.
    ctx = ssl.create_default_context(cafile=env["IMAP_CAFILE"])
    z = CompressedIMAP4_SSL(env["IMAP_HOST"], int(env["IMAPS_PORT"]), ssl_context=ctx, timeout=10)
    try:
        step("z_login", z.login(env["IMAP_USER"], env["IMAP_PASSWORD"]))
        step("z_compress", z.compress())
        step("z_examine", z.select("INBOX", readonly=True))
        step("z_sort", z.sort("(SUBJECT)", "UTF-8", "ALL"))
        step("z_thread", z.thread("REFERENCES", "UTF-8", "ALL"))
        step("z_fetch", z.fetch("1:*", "(FLAGS BODY.PEEK[HEADER.FIELDS (SUBJECT)])"))
    finally:
        step("z_logout", z.logout())
    json.dump(out, sys.stdout, sort_keys=True)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
