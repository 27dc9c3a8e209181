"""SMTP sessions with Python's smtplib, for the interoperability tests.

Reads SMTP_HOST, SMTP_PORT (delivery), SUBMISSION_PORT, SMTP_CAFILE, SMTP_USER,
SMTP_PASSWORD, SMTP_FROM_25, SMTP_RCPT (a UTF-8 address), and MESSAGE_25 and
MESSAGE_587 (paths of the message files) from the environment.

1. Delivery on the smtp port: EHLO, then MAIL with SMTPUTF8 and BODY=8BITMIME, RCPT
   and DATA with an 8-bit message, then QUIT.
2. Submission: EHLO, STARTTLS verifying the server certificate against SMTP_CAFILE,
   EHLO, login (smtplib's choice of mechanism), then the same kind of transaction.
3. Submission again, logging in with AUTH LOGIN explicitly, and the null sender
   refused on a message whose From is not the user's.

Prints every (code, text) reply and the announced extensions as one JSON object.
"""

import json
import os
import smtplib
import ssl


def reply(r):
    code, text = r
    return [code, text.decode("utf-8", "backslashreplace")]


def transaction(s, out, prefix, sender, rcpt, data):
    out[prefix + "mail"] = reply(s.mail(sender, ["SMTPUTF8", "BODY=8BITMIME"]))
    out[prefix + "rcpt"] = reply(s.rcpt(rcpt))
    out[prefix + "data"] = reply(s.data(data))


def features(s):
    return sorted(k for k in s.esmtp_features if k in ("smtputf8", "8bitmime", "starttls", "auth", "pipelining"))


def main():
    env = os.environ
    host = env["SMTP_HOST"]
    rcpt = env["SMTP_RCPT"]
    with open(env["MESSAGE_25"], "rb") as f:
        message25 = f.read()
    with open(env["MESSAGE_587"], "rb") as f:
        message587 = f.read()
    out = {}

    s = smtplib.SMTP(host, int(env["SMTP_PORT"]), local_hostname="client.example", timeout=10)
    try:
        out["ehlo25"] = s.ehlo()[0]
        out["features25"] = features(s)
        transaction(s, out, "d25_", env["SMTP_FROM_25"], rcpt, message25)
        out["quit25"] = reply(s.quit())
    finally:
        s.close()

    ctx = ssl.create_default_context(cafile=env["SMTP_CAFILE"])
    s = smtplib.SMTP(host, int(env["SUBMISSION_PORT"]), local_hostname="client.example", timeout=10)
    try:
        s.ehlo()
        out["features587_plain"] = features(s)
        out["starttls"] = reply(s.starttls(context=ctx))
        s.ehlo()
        out["features587_tls"] = features(s)
        out["auth587"] = s.esmtp_features.get("auth", "").split()
        out["login"] = reply(s.login(env["SMTP_USER"], env["SMTP_PASSWORD"]))
        transaction(s, out, "s587_", env["SMTP_USER"], rcpt, message587)
        out["quit587"] = reply(s.quit())
    finally:
        s.close()

    s = smtplib.SMTP(host, int(env["SUBMISSION_PORT"]), local_hostname="client.example", timeout=10)
    try:
        s.starttls(context=ctx)
        s.ehlo()
        s.user, s.password = env["SMTP_USER"], env["SMTP_PASSWORD"]
        out["auth_login"] = reply(s.auth("LOGIN", s.auth_login, initial_response_ok=False))
        out["bad_from_mail"] = reply(s.mail(""))
        out["bad_from_rcpt"] = reply(s.rcpt(env["SMTP_USER"]))
        out["bad_from_data"] = reply(s.data(b"From: someone@example.net\r\nSubject: x\r\n\r\nx\r\n"))
        out["quit_login"] = reply(s.quit())
    finally:
        s.close()

    print(json.dumps(out, ensure_ascii=False))


main()
