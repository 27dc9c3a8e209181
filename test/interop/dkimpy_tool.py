# dkimpy (Debian python3-dkim) and authres (python3-authres) for dkimpy.test.ts: reads one
# JSON request on stdin, writes one JSON answer on stdout. Messages travel as base64, keys
# as file paths, DNS TXT records as a map from owner name to record text.
import base64
import json
import sys

import authres
import dkim


def message(req):
    return base64.b64decode(req["message"])


def key(req):
    with open(req["keyFile"], "rb") as f:
        return f.read()


def dnsfunc(req):
    zone = {k.lower().rstrip("."): v for k, v in req.get("txt", {}).items()}

    def lookup(name, timeout=5):
        n = name.decode("ascii") if isinstance(name, bytes) else name
        v = zone.get(n.lower().rstrip("."))
        return None if v is None else v.encode("ascii")

    return lookup


def sign(req):
    kw = {"signature_algorithm": req["algorithm"].encode("ascii")}
    if "canonicalize" in req:
        kw["canonicalize"] = tuple(c.encode("ascii") for c in req["canonicalize"].split("/"))
    sig = dkim.sign(
        message(req), req["selector"].encode("ascii"), req["domain"].encode("ascii"), key(req), **kw
    )
    return {"header": sig.decode("ascii")}


def arc_sign(req):
    headers = dkim.arc_sign(
        message(req),
        req["selector"].encode("ascii"),
        req["domain"].encode("ascii"),
        key(req),
        req["srvId"].encode("ascii"),
        timestamp=req["timestamp"],
    )
    return {"headers": [h.decode("ascii") for h in headers]}


def verify(req):
    # Each DKIM-Signature on its own, topmost first; an exception fails the signature, as
    # in dkim.verify, and says why.
    d = dkim.DKIM(message(req), minkey=1024)
    count = sum(1 for name, _ in d.headers if name.lower() == b"dkim-signature")
    results, errors = [], []
    for i in range(count):
        try:
            results.append(bool(d.verify(idx=i, dnsfunc=dnsfunc(req))))
        except dkim.DKIMException as e:
            results.append(False)
            errors.append(str(e))
    return {"results": results, "errors": errors}


def arc_verify(req):
    cv, _, reason = dkim.arc_verify(message(req), dnsfunc=dnsfunc(req))
    return {"cv": cv.decode("ascii"), "reason": reason}


def parse_authres(req):
    out = []
    for value in req["values"]:
        try:
            h = authres.AuthenticationResultsHeader.parse("Authentication-Results: " + value)
        except authres.AuthResError as e:
            out.append({"error": str(e)})
            continue
        out.append(
            {
                "authservId": h.authserv_id,
                "results": [
                    {
                        "method": r.method,
                        "result": r.result,
                        "reason": r.reason,
                        "props": [[f"{p.type}.{p.name}", p.value] for p in r.properties],
                    }
                    for r in h.results
                ],
            }
        )
    return {"headers": out}


COMMANDS = {
    "sign": sign,
    "arc-sign": arc_sign,
    "verify": verify,
    "arc-verify": arc_verify,
    "authres": parse_authres,
}

if __name__ == "__main__":
    request = json.load(sys.stdin)
    json.dump(COMMANDS[sys.argv[1]](request), sys.stdout)
