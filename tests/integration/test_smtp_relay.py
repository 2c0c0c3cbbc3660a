"""smtp-client relaying to other hosts: SMTP AUTH to a smarthost (PLAIN,
LOGIN, refused without TLS by default, 535 deferred or bounced), the
8BITMIME downgrade to quoted-printable (byte for byte), 8-bit data in
multipart/signed (5.6.3), SMTPUTF8 (5.6.7) and SIZE (5.3.4) refusals. The
test plays qmgr on private/smtp and two more smtp-client services with
other options; fake servers (lmtp_peer.Peer) are the next hops. qmgr is
taken out of master.cf, so accepted messages stay in incoming/."""
import os

from lmtp_peer import Peer, Qmgr, drop_qmgr, queue_message as queue
from tern_harness import Suite, check

DOMAIN = "example.test"
RCPT = f"demo@{DOMAIN}"


def add_services(suite, services):
    """Copies master.cf's smtp line once per (name, options)."""
    path = os.path.join(suite.dir, "master.cf")
    with open(path) as f:
        lines = f.read().splitlines()
    smtp = [l for l in lines if l.startswith("smtp ") and " unix " in l]
    if not smtp:
        raise SystemExit("FAIL: no smtp service in master.cf")
    for name, opts in services:
        extra = "".join(f" -o {o}" for o in opts)
        lines.append(name + smtp[0][len("smtp"):] + extra)
    with open(path, "w") as f:
        f.write("\n".join(lines) + "\n")


def main():
    good = Peer(lmtp=False, auth=["PLAIN", "LOGIN"], users={"relayuser": "s3cret:pw"})
    login_only = Peer(lmtp=False, auth=["LOGIN", "CRAM-MD5"], users={"relayuser": "s3cret:pw"})
    wrong = Peer(lmtp=False, auth=["PLAIN"], users={"relayuser": "other"})
    noauth = Peer(lmtp=False)
    seven = Peer(lmtp=False, eightbit=False)
    eight = Peer(lmtp=False)
    noutf8 = Peer(lmtp=False, smtputf8=False)
    tiny = Peer(lmtp=False, size=300)
    peers = [good, login_only, wrong, noauth, seven, eight, noutf8, tiny]
    suite = Suite({"queue_run_delay": "1h", "smtp_sasl_auth_enable": "yes",
                   "smtp_connection_cache_time_limit": "0"}, domain=DOMAIN)
    try:
        pw = os.path.join(suite.dir, "sasl_passwd")
        with open(pw, "w") as f:
            for p in (good, login_only, wrong, noauth):
                f.write(f"[127.0.0.1]:{p.port} relayuser:s3cret:pw\n")
        os.chmod(pw, 0o600)
        suite.configure({"smtp_sasl_password_maps": f"texthash:{pw}"})
        add_services(suite, [("smtpplain", ["smtp_sasl_security_options=noanonymous"]),
                             ("smtphard", ["smtp_sasl_security_options=noanonymous",
                                           "smtp_sasl_auth_soft_bounce=no"])])
        drop_qmgr(suite)
        suite.start()
        qid = queue(suite, [RCPT])

        # --- AUTH without TLS: refused by default ------------------------------
        q = Qmgr(suite, "smtp")
        results, done = q.request(qid, f"[127.0.0.1]:{good.port}", [(0, RCPT)], protocol="smtp")
        r = results.get(0, {})
        check(r.get("action") == "deferred" and r.get("dsn") == "4.7.0" and
              "no mechanism available" in r.get("reason", "") and
              not any(c.startswith("AUTH") or c.startswith("MAIL") for c in good.sessions[-1]["commands"]),
              f"without TLS, PLAIN and LOGIN are not used (smtp_sasl_security_options = noplaintext): "
              f"deferred, no AUTH, no MAIL: {r}")
        q.close()

        # --- AUTH allowed in clear text: PLAIN, LOGIN, 535 ------------------------
        q = Qmgr(suite, "smtpplain")
        results, done = q.request(qid, f"[127.0.0.1]:{good.port}", [(0, RCPT)], protocol="smtp")
        s = good.sessions[-1]
        check(results[0]["action"] == "delivered" and s.get("auth") == ("PLAIN", "relayuser") and
              len(s["messages"]) == 1 and
              s["commands"].index([c for c in s["commands"] if c.startswith("AUTH")][0]) <
              s["commands"].index([c for c in s["commands"] if c.startswith("MAIL")][0]),
              f"AUTH PLAIN with the table's login (a password with a colon), before MAIL: {results[0]}")
        results, done = q.request(qid, f"[127.0.0.1]:{login_only.port}", [(0, RCPT)], protocol="smtp")
        s = login_only.sessions[-1]
        check(results[0]["action"] == "delivered" and s.get("auth") == ("LOGIN", "relayuser") and
              "AUTH LOGIN" in s["commands"],
              f"AUTH LOGIN when the server offers no PLAIN: {results[0]}")
        results, done = q.request(qid, f"[127.0.0.1]:{wrong.port}", [(0, RCPT)], protocol="smtp")
        r = results[0]
        check(r["action"] == "deferred" and r["dsn"] == "4.7.8" and
              r["reason"] == f"SASL authentication failed; server 127.0.0.1[127.0.0.1] said: "
                             "535 5.7.8 Error: authentication failed: bad credentials" and
              r["reply"].startswith("535 5.7.8") and not wrong.sessions[-1]["messages"],
              f"535: deferred as 4.7.8 (smtp_sasl_auth_soft_bounce = yes), nothing sent: {r}")
        results, done = q.request(qid, f"[127.0.0.1]:{noauth.port}", [(0, RCPT)], protocol="smtp")
        check(results[0]["action"] == "delivered" and "auth_tries" not in noauth.sessions[-1],
              f"a server that offers no AUTH gets the mail without it: {results[0]}")
        results, done = q.request(qid, f"[127.0.0.1]:{eight.port}", [(0, RCPT)], protocol="smtp")
        check(results[0]["action"] == "delivered" and "auth_tries" not in eight.sessions[-1],
              f"no login in the table for this next hop: no AUTH: {results[0]}")
        q.close()
        q = Qmgr(suite, "smtphard")
        results, done = q.request(qid, f"[127.0.0.1]:{wrong.port}", [(0, RCPT)], protocol="smtp")
        check(results[0]["action"] == "bounced" and results[0]["dsn"] == "5.7.8",
              f"with smtp_sasl_auth_soft_bounce = no, 535 bounces: {results[0]}")
        q.close()
        log = suite.log_text()
        check("s3cret" not in log and "c3Nj" not in log, "the password never reaches the log")

        # --- 8BITMIME downgrade -----------------------------------------------------
        q = Qmgr(suite, "smtp")
        body = (b"Subject: 8bit\r\nMIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n"
                b"Content-Transfer-Encoding: 8bit\r\n\r\ncaf\xc3\xa9 = 1 \r\n.line\r\n")
        q8 = queue(suite, [RCPT], body=body, mail_options=["BODY=8BITMIME"])
        results, done = q.request(q8, f"[127.0.0.1]:{eight.port}", [(0, RCPT)], protocol="smtp")
        orig = eight.sessions[-1]["messages"][-1]
        check(results[0]["action"] == "delivered" and "BODY=8BITMIME" in orig["mail"] and
              orig["data"].endswith(b"caf\xc3\xa9 = 1 \r\n.line\r\n"),
              f"to a server with 8BITMIME: BODY=8BITMIME, the bytes as they are: {orig['mail']}")
        results, done = q.request(q8, f"[127.0.0.1]:{seven.port}", [(0, RCPT)], protocol="smtp")
        got = seven.sessions[-1]["messages"][-1]
        want = orig["data"].replace(b"Content-Transfer-Encoding: 8bit\r\n",
                                    b"Content-Transfer-Encoding: quoted-printable\r\n")
        want = want.replace(b"caf\xc3\xa9 = 1 \r\n.line\r\n", b"caf=C3=A9 =3D 1=20\r\n.line\r\n")
        check(results[0]["action"] == "delivered" and "BODY=" not in got["mail"] and got["data"] == want,
              f"to a server without 8BITMIME: converted to quoted-printable, byte for byte, no BODY=: "
              f"{got['data'][-120:]!r}")
        check(all(b < 128 for b in got["raw"]), "nothing 8-bit went on the wire")

        signed = (b"Subject: signed\r\nMIME-Version: 1.0\r\n"
                  b"Content-Type: multipart/signed; protocol=\"application/pgp-signature\"; boundary=\"sig\"\r\n\r\n"
                  b"--sig\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n"
                  b"sign\xc3\xa9\r\n--sig\r\nContent-Type: application/pgp-signature\r\n\r\nSIG\r\n--sig--\r\n")
        qs = queue(suite, [RCPT], body=signed, mail_options=["BODY=8BITMIME"])
        before = sum(len(x["messages"]) for x in seven.sessions)
        results, done = q.request(qs, f"[127.0.0.1]:{seven.port}", [(0, RCPT)], protocol="smtp")
        check(results[0]["action"] == "bounced" and results[0]["dsn"] == "5.6.3" and
              "multipart/signed" in results[0]["reason"] and
              sum(len(x["messages"]) for x in seven.sessions) == before and
              not any(c.startswith("MAIL") for c in seven.sessions[-1]["commands"]),
              f"8-bit data in multipart/signed to a 7-bit server: bounced 5.6.3, not sent: {results[0]}")

        plain8 = b"Subject: undeclared\r\n\r\n\xe9t\xe9\r\n"
        qp = queue(suite, [RCPT], body=plain8)
        results, done = q.request(qp, f"[127.0.0.1]:{seven.port}", [(0, RCPT)], protocol="smtp")
        got = seven.sessions[-1]["messages"][-1]["data"]
        check(results[0]["action"] == "delivered" and
              got.endswith(b"Content-Transfer-Encoding: quoted-printable\r\nMIME-Version: 1.0\r\n\r\n=E9t=E9\r\n"),
              f"8-bit bytes without BODY=8BITMIME are converted too, with MIME-Version: {got[-100:]!r}")

        # --- SMTPUTF8 and SIZE: refused before MAIL FROM ----------------------------------
        qu = queue(suite, [RCPT], sender="al\u00efce@example.org", mail_options=["SMTPUTF8"])
        results, done = q.request(qu, f"[127.0.0.1]:{noutf8.port}", [(0, RCPT)], protocol="smtp")
        check(results[0]["action"] == "bounced" and results[0]["dsn"] == "5.6.7" and
              "SMTPUTF8 is required" in results[0]["reason"] and
              not any(c.startswith("MAIL") for c in noutf8.sessions[-1]["commands"]),
              f"an SMTPUTF8 message with a UTF-8 address to a server without SMTPUTF8: bounced 5.6.7: {results[0]}")
        big = b"Subject: big\r\n\r\n" + b"x" * 70 + b"\r\n" + b"y" * 500 + b"\r\n"
        qb = queue(suite, [RCPT], body=big)
        results, done = q.request(qb, f"[127.0.0.1]:{tiny.port}", [(0, RCPT)], protocol="smtp")
        check(results[0]["action"] == "bounced" and results[0]["dsn"] == "5.3.4" and
              "exceeds size limit 300" in results[0]["reason"] and
              not any(c.startswith("MAIL") for c in tiny.sessions[-1]["commands"]),
              f"a message over the server's SIZE: bounced 5.3.4 without MAIL FROM: {results[0]}")
        q.close()

        suite.stop()
        log = suite.log_text()
        check("panic:" not in log and "fatal:" not in log, "no daemon panicked")
    finally:
        for p in peers:
            p.stop()
        suite.cleanup()


if __name__ == "__main__":
    main()
