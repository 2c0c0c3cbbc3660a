"""Mail to the world on one machine: a test DNS server (tests/tools/dns_server.py)
on 127.0.0.1 serves MX, A and null-MX records for a few test domains, and
two Tern instances made by `ternctl init --listen-address` on 127.0.0.2
(a.test) and 127.0.0.3 (b.test), on the same port (their smtp_tcp_port),
are the domains' MX hosts. Fake peers (lmtp_peer.py) on 127.0.0.5/6 play
the misbehaving MX hosts.

Shown: A's user reaches B's user over STARTTLS (the log names the TLS
result) past a first MX that is down, and the reply comes back; all MX
hosts down -> deferred, delivered after they come back and `ternqueue -f`;
550 from the peer -> a DSN in the sender's Maildir naming the remote reply;
null MX -> bounced at once (5.1.10); a domain that does not exist -> 5.1.2;
a 4xx greeting and a 4xx to MAIL -> the next MX; a broken TLS handshake
under may -> the same MX in plain text; encrypt without STARTTLS -> 4.7.4;
4xx then 2xx -> delivered once; an MX that is myhostname -> 5.4.6 loop; smtp_tls_security_level
verify (through smtp_tls_policy_maps) against a self-signed peer -> deferred
with the reason, and Verified when smtp_tls_CAfile trusts the peer."""
import email
import email.policy
import os
import re
import smtplib
import socket
import subprocess
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tools"))
from dns_server import DnsServer  # noqa: E402
from lmtp_peer import Peer  # noqa: E402
from tern_harness import BIN, Suite, check, maildir_new, skip, wait_for  # noqa: E402
from tern_harness import read_bytes as read  # noqa: E402

ZONE = """
zone test
mail.a.test     A   127.0.0.2
mail.b.test     A   127.0.0.3
dead.b.test     A   127.0.0.9
a.test          MX  10 mail.a.test
b.test          MX  10 dead.b.test
b.test          MX  20 mail.b.test
null.test       MX  0 .
loop.test       MX  10 mail.a.test
strict.test     MX  10 mail.a.test
busy.test       MX  10 busy.peer.test
busy.test       MX  20 ok.peer.test
mailbusy.test   MX  10 busy.peer.test
mailbusy.test   MX  20 ok.peer.test
flaky.test      MX  10 ok.peer.test
busy.peer.test  A   127.0.0.5
ok.peer.test    A   127.0.0.6
alias.test      MX  10 mx.alias.test
mx.alias.test   CNAME ok.peer.test
noaddr.test     A   127.0.0.6
servfail broken.test
notls.test      MX  10 ok.peer.test
brokentls.test  MX  10 busy.peer.test
"""


def can_bind(addr):
    with socket.socket() as s:
        try:
            s.bind((addr, 0))
            return True
        except OSError:
            return False


def with_subject(suite, user, subject):
    return [p for p in maildir_new(suite, user) if f"Subject: {subject}\r\n".encode() in read(p)]


def send(suite, sender, rcpts, subject):
    s = smtplib.SMTP(suite.address, suite.port(25), timeout=20)
    s.sendmail(sender, rcpts, f"From: <{sender}>\r\nTo: <{rcpts[0]}>\r\nSubject: {subject}\r\n\r\nhello\r\n".encode())
    s.quit()


def log_re(suite, pattern, timeout=20):
    return wait_for(lambda: re.search(pattern, suite.log_text()), timeout=timeout)


def bounce_for(suite, user, subject, timeout=20):
    """The DSN in user's Maildir about the message with this subject, parsed."""
    def find():
        for p in maildir_new(suite, user):
            data = read(p)
            if b"multipart/report" in data and f"Subject: {subject}".encode() in data:
                return email.message_from_bytes(data, policy=email.policy.default)
        return None
    return wait_for(find, timeout=timeout)


def ctl(suite, *args):
    return subprocess.run([os.path.join(BIN, args[0]), "-c", suite.dir, *args[1:]], capture_output=True, text=True,
                          timeout=60)


def flush_until(suite, pred, timeout=30):
    """ternqueue -f, again every few seconds until pred() (a flush that
    comes while the message is still in active/, or before the peer
    listens, finds nothing to do; A's backoff is an hour)."""
    def attempt():
        r = ctl(suite, "ternqueue", "-f")
        check(r.returncode == 0, f"ternqueue -f: {r.stderr}")
        return wait_for(pred, timeout=3)
    return wait_for(attempt, timeout=timeout, step=0.1)


def main():
    for addr in ("127.0.0.2", "127.0.0.3", "127.0.0.5", "127.0.0.6"):
        if not can_bind(addr):
            skip(f"cannot bind {addr} (no 127.0.0.0/8 on lo)")
    dns = DnsServer(ZONE)
    dns.start()
    common = {"mynetworks": "127.0.0.0/8", "queue_run_delay": "1s", "minimal_backoff_time": "1s",
              "maximal_backoff_time": "2s", "transport_retry_time": "1s", "dns_servers": f"127.0.0.1:{dns.port}",
              "dns_timeout": "3s", "smtp_connect_timeout": "3s", "smtp_helo_timeout": "5s",
              "inet_protocols": "ipv4"}
    suites, peers = [], []
    try:
        a = Suite(dict(common), domain="a.test", listen_address="127.0.0.2")
        suites.append(a)
        b = Suite(dict(common), domain="b.test", listen_address="127.0.0.3", port_base=a.base)
        suites.append(b)
        port = a.port(25)
        for s in (a, b):
            s.configure({"smtp_tcp_port": str(port)})
        # A verifies B (B's self-signed certificate is A's trust anchor); B
        # verifies strict.test, whose MX is A, against the system's CAs.
        # A retries only when told to (ternqueue -f).
        policy_a = os.path.join(a.dir, "tls_policy")
        with open(policy_a, "w") as f:
            f.write("b.test verify\nnotls.test encrypt\n")
        policy_b = os.path.join(b.dir, "tls_policy")
        with open(policy_b, "w") as f:
            f.write("strict.test verify\n")
        a.configure({"smtp_tls_policy_maps": "texthash:" + policy_a,
                     "smtp_tls_CAfile": os.path.join(b.dir, "tls", "cert.pem"),
                     "minimal_backoff_time": "1h", "maximal_backoff_time": "1h"})
        b.configure({"smtp_tls_policy_maps": "texthash:" + policy_b})
        a.start()
        b.start()

        # --- A -> B over STARTTLS, past a first MX that is down; and back -----------------------
        send(a, "demo@a.test", ["demo@b.test"], "hello b")
        check(wait_for(lambda: with_subject(b, "demo@b.test", "hello b"), timeout=30), "A's mail reaches B's Maildir")
        check(log_re(a, rf"connect to dead\.b\.test\[127\.0\.0\.9\]:{port}: Connection refused"),
              "the first MX (down) was tried and logged")
        check(log_re(a, rf"Verified TLS connection established to mail\.b\.test\[127\.0\.0\.3\]:{port}: "
                        r"TLSv1\.[23] with cipher \S+"),
              "over STARTTLS, verified (smtp_tls_policy_maps, smtp_tls_CAfile), logged as Postfix logs it")
        check(log_re(a, rf"to=<demo@b\.test>, relay=mail\.b\.test\[127\.0\.0\.3\]:{port}, delay=[0-9.]+, "
                        r"delays=[0-9./]+, dsn=2\.0\.0, status=sent \(250 "),
              "the delivery line names the relay, dsn and status")
        got = read(with_subject(b, "demo@b.test", "hello b")[0])
        check(b"with ESMTPS" in got or b"TLS" in got, f"B's Received: shows TLS: {got[:400]!r}")
        send(b, "demo@b.test", ["demo@a.test"], "re: hello b")
        check(wait_for(lambda: with_subject(a, "demo@a.test", "re: hello b"), timeout=30), "and the reply comes back")
        check(log_re(b, rf"Untrusted TLS connection established to mail\.a\.test\[127\.0\.0\.2\]:{port}"),
              "also over TLS (may: an untrusted certificate is fine)")

        # --- all MX hosts down: deferred; back up and ternqueue -f: delivered ----------------------
        b.stop()
        send(a, "demo@a.test", ["demo@b.test"], "while down")
        check(log_re(a, rf"to=<demo@b\.test>, relay=mail\.b\.test\[127\.0\.0\.3\]:{port}, .*status=deferred "
                        rf"\(connect to mail\.b\.test\[127\.0\.0\.3\]:{port}: Connection refused\)"),
              "every MX down: deferred with the last connect error")
        q = wait_for(lambda: "Connection refused" in ctl(a, "ternqueue", "-p").stdout, timeout=10)
        check(q, "mailq shows the reason")
        b.start()
        check(flush_until(a, lambda: with_subject(b, "demo@b.test", "while down")),
              "delivered after B came back and ternqueue -f")

        # --- 550 from the peer: a DSN naming the remote reply ----------------------------------------
        send(a, "demo@a.test", ["nosuch@b.test"], "to nobody")
        rep = bounce_for(a, "demo@a.test", "to nobody")
        check(rep is not None, "a 550 from B comes back as a DSN in the sender's Maildir")
        text = rep.as_string() if rep else ""
        check("Diagnostic-Code: smtp; 550" in text and "Remote-MTA: dns; mail.b.test" in text and
              "Status: 5.1.1" in text, f"the DSN names the remote reply: {text[-1200:]}")

        # --- null MX, a domain that does not exist, a loop ------------------------------------------
        send(a, "demo@a.test", ["x@null.test"], "to null")
        check(log_re(a, r"to=<x@null\.test>, .*dsn=5\.1\.10, status=bounced \(Domain null\.test does not accept "
                        r"mail \(nullMX\)\)"), "null MX: bounced at once, 5.1.10")
        check(bounce_for(a, "demo@a.test", "to null") is not None, "with a DSN")
        send(a, "demo@a.test", ["x@gone.test"], "to gone")
        check(log_re(a, r"to=<x@gone\.test>, .*dsn=5\.1\.2, status=bounced \(Host or domain name not found"),
              "NXDOMAIN: bounced, 5.1.2")
        send(a, "demo@a.test", ["x@broken.test"], "to broken")
        check(log_re(a, r"to=<x@broken\.test>, .*dsn=4\.4\.3, status=deferred \(Host or domain name not found\. "
                        r"Name service error for name=broken\.test type=MX: Host not found, try again\)"),
              "SERVFAIL: deferred, 4.4.3")
        send(a, "demo@a.test", ["x@loop.test"], "to loop")
        check(log_re(a, r"to=<x@loop\.test>, .*dsn=5\.4\.6, status=bounced \(mail for loop\.test loops back to myself\)"),
              "an MX that is myhostname: 5.4.6, loops back to myself")

        # --- misbehaving MX hosts: fake peers on 127.0.0.5 and .6 -----------------------------------
        busy = Peer(lmtp=False, greeting="421 4.3.2 busy, come back later", bind=("127.0.0.5", port))
        ok = Peer(lmtp=False, greeting="220 ok.peer.test ESMTP", bind=("127.0.0.6", port))
        peers += [busy, ok]
        send(a, "demo@a.test", ["x@busy.test"], "greeting 421")
        check(log_re(a, rf"to=<x@busy\.test>, relay=ok\.peer\.test\[127\.0\.0\.6\]:{port}, .*status=sent"),
              "a 421 greeting: the next MX takes it")
        busy.greeting = "220 busy.peer.test ESMTP"
        busy.special = {"MAIL": ("raw", b"451 4.3.0 not now\r\n")}
        send(a, "demo@a.test", ["x@mailbusy.test"], "mail 451")
        check(log_re(a, rf"to=<x@mailbusy\.test>, relay=ok\.peer\.test\[127\.0\.0\.6\]:{port}, .*status=sent"),
              "a 451 to MAIL FROM: the next MX takes it")
        check(log_re(a, r"host busy\.peer\.test\[127\.0\.0\.5\] said: 451 4\.3\.0 not now \(in reply to MAIL FROM"),
              "and the 451 is logged")
        busy.special = {}
        busy.starttls = "broken"
        send(a, "demo@a.test", ["x@brokentls.test"], "broken tls")
        check(log_re(a, rf"SSL_connect error to busy\.peer\.test\[127\.0\.0\.5\]:{port}: ") and
              log_re(a, rf"to=<x@brokentls\.test>, relay=busy\.peer\.test\[127\.0\.0\.5\]:{port}, .*status=sent"),
              "may: a failed TLS handshake is logged and the same MX gets the mail in plain text")
        send(a, "demo@a.test", ["x@notls.test"], "needs tls")
        check(log_re(a, r"to=<x@notls\.test>, .*dsn=4\.7\.4, status=deferred \(TLS is required, but was not offered "
                        r"by host ok\.peer\.test\[127\.0\.0\.6\]\)"),
              "encrypt (smtp_tls_policy_maps) and no STARTTLS offered: deferred 4.7.4")
        send(a, "demo@a.test", ["x@alias.test"], "via cname")
        check(log_re(a, rf"to=<x@alias\.test>, relay=mx\.alias\.test\[127\.0\.0\.6\]:{port}, .*status=sent"),
              "an MX host that is a CNAME")
        send(a, "demo@a.test", ["x@noaddr.test"], "implicit mx")
        check(log_re(a, rf"to=<x@noaddr\.test>, relay=noaddr\.test\[127\.0\.0\.6\]:{port}, .*status=sent"),
              "no MX: the domain's own address (RFC 5321 5.1)")

        ok.rcpt_reply = {"later": "450 4.2.0 <later@flaky.test> greylisted, try again"}
        before = sum(len(s["messages"]) for s in ok.sessions)
        send(a, "demo@a.test", ["later@flaky.test"], "greylisted")
        check(log_re(a, r"to=<later@flaky\.test>, .*dsn=4\.2\.0, status=deferred \(host ok\.peer\.test\[127\.0\.0\.6\] "
                        r"said: 450 4\.2\.0 <later@flaky\.test> greylisted, try again \(in reply to RCPT TO command\)\)"),
              "a 450 to RCPT: deferred with the remote text")
        ok.rcpt_reply = {}
        check(flush_until(a, lambda: re.search(r"to=<later@flaky\.test>, relay=ok\.peer\.test.*status=sent",
                                                a.log_text())), "then 250 (after ternqueue -f): delivered")
        wait_for(lambda: False, timeout=2)
        subjects = [m for s in ok.sessions for m in s["messages"] if b"Subject: greylisted" in m["data"]]
        check(len(subjects) == 1, f"exactly once: {len(subjects)} copies ({before} messages before)")

        # --- verify against a self-signed peer: B to strict.test (MX: A) ------------------------------
        send(b, "demo@b.test", ["x@strict.test"], "strict")
        check(log_re(b, rf"server certificate verification failed for mail\.a\.test\[127\.0\.0\.2\]:{port}: num=\d+:"),
              "verify: the failed verification is logged")
        check(log_re(b, r"to=<x@strict\.test>, .*dsn=4\.7\.5, status=deferred \(Server certificate not trusted"),
              "verify against a self-signed peer: deferred 4.7.5, Server certificate not trusted")

        for s in suites:
            s.stop()
    finally:
        for p in peers:
            p.stop()
        for s in suites:
            s.cleanup()
        dns.stop()
    print("ok")


if __name__ == "__main__":
    main()
