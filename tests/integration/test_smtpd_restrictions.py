"""smtpd's restriction lists (smtpd(8), RESTRICTIONS) against smtplib:
check_recipient_access with HOLD puts the message in hold/ (mailq marks it
'!', ternsuper -H releases it), REJECT text is the 554 reply, check_sender_access OK and REJECT,
check_client_access by an address prefix, DISCARD answers 250 and queues
nothing, reject_non_fqdn_*, and the open-relay guard stops smtpd at start."""
import os
import smtplib
import socket
import subprocess

from tern_harness import BIN, HOLD_MAIL, Suite, check, wait_for


def write(suite, name, text):
    path = os.path.join(suite.dir, name)
    with open(path, "w") as f:
        f.write(text)
    return path


def session(suite, helo="client.example.org"):
    s = smtplib.SMTP("127.0.0.1", suite.port(25), timeout=10)
    s.ehlo(helo)
    return s


def send(suite, sender, rcpt, helo="client.example.org"):
    """(RCPT reply, DATA reply or None)."""
    s = session(suite, helo)
    check(s.mail(sender)[0] == 250, f"MAIL FROM:<{sender}>")
    r = s.rcpt(rcpt)
    d = None
    if r[0] == 250:
        d = s.data(b"From: " + sender.encode() + b"\r\nSubject: restrictions\r\n\r\nbody\r\n")
    s.quit()
    return r, d


def test_access_tables(suite):
    r, d = send(suite, "alice@example.org", "demo+held@example.test")
    check(r[0] == 250 and d[0] == 250, f"HOLD: RCPT and DATA are accepted: {r} {d}")
    qid = d[1].split()[-1].decode()
    check(qid in suite.queue_files("hold") and qid not in suite.queue_files("incoming", "active"),
          f"the held message is in hold/: {os.listdir(os.path.join(suite.queue, 'hold'))}")
    check(wait_for(lambda: "NOQUEUE: hold: RCPT from " in suite.log_text() and
                   "<demo+held@example.test>: Recipient address triggers HOLD action" in suite.log_text()),
          "the HOLD action is logged")
    q = subprocess.run([os.path.join(BIN, "ternqueue"), "-c", suite.dir, "-p"], capture_output=True, text=True,
                       timeout=20)
    check(q.returncode == 0 and f"{qid}!" in q.stdout, f"mailq marks it held: {q.stdout!r}")
    r = subprocess.run([os.path.join(BIN, "ternsuper"), "-c", suite.dir, "-H", qid], capture_output=True, text=True,
                       timeout=20)
    check(r.returncode == 0 and wait_for(lambda: qid not in suite.queue_files("hold") and qid in suite.queue_files()),
          f"ternsuper -H releases it from hold/: {r.stderr!r}")

    r, _ = send(suite, "alice@example.org", "demo+refused@example.test")
    check(r == (554, b"5.7.1 <demo+refused@example.test>: Recipient address rejected: no mail for this one"),
          f"REJECT text is the 554 reply: {r}")
    check(wait_for(lambda: "NOQUEUE: reject: RCPT from " in suite.log_text() and
                   "554 5.7.1 <demo+refused@example.test>: Recipient address rejected: no mail for this one; "
                   "from=<alice@example.org> to=<demo+refused@example.test> proto=ESMTP helo=<client.example.org>"
                   in suite.log_text()), "and logged as Postfix logs it")

    before = set(suite.queue_files())
    r, d = send(suite, "alice@example.org", "demo+gone@example.test")
    check(r[0] == 250 and d[0] == 250, f"DISCARD: the client is told 250: {r} {d}")
    qid = d[1].split()[-1].decode()
    check(wait_for(lambda: f"{qid}: discard: from=<alice@example.org>" in suite.log_text()), "discard is logged")
    check(set(suite.queue_files()) == before and not os.listdir(os.path.join(suite.queue, "tmp")),
          "nothing was queued, nothing left in tmp/")

    r, d = send(suite, "friend@trusted.example", "demo@example.test")
    check(r[0] == 250 and d[0] == 250, f"check_sender_access OK: accepted {r}")
    r, _ = send(suite, "spammer@spam.example", "demo@example.test")
    check(r[0] == 554 and b"<spammer@spam.example>: Sender address rejected: Access denied" in r[1],
          f"check_sender_access REJECT: {r}")


def test_client_prefix_and_fqdn(suite):
    r, _ = send(suite, "alice@example.org", "demo@example.test")
    check(r[0] == 450 and r[1] == b"4.7.1 <unknown[127.0.0.1]>: Client host rejected: try later, 127.0.0",
          f"check_client_access by the prefix 127.0.0: {r}")


def test_non_fqdn_and_relay(suite):
    s = session(suite)
    s.mail("alice@localhost")
    r = s.rcpt("demo@example.test")
    check(r[0] == 504 and b"<alice@localhost>: Sender address rejected: need fully-qualified address" in r[1],
          f"reject_non_fqdn_sender: {r}")
    s.rset()
    s.mail("alice@example.org")
    r = s.rcpt("bob@intranet")
    check(r[0] == 504 and b"<bob@intranet>: Recipient address rejected: need fully-qualified address" in r[1],
          f"reject_non_fqdn_recipient: {r}")
    r = s.rcpt("bob@elsewhere.org")
    check(r == (554, b"5.7.1 <bob@elsewhere.org>: Relay access denied"), f"strangers still may not relay: {r}")
    s.quit()
    s = session(suite, "nodots")
    s.mail("alice@example.org")
    r = s.rcpt("demo@example.test")
    check(r[0] == 504 and b"<nodots>: Helo command rejected: need fully-qualified hostname" in r[1],
          f"reject_non_fqdn_helo_hostname: {r}")
    s.quit()


def test_open_relay_guard():
    suite = Suite({**HOLD_MAIL, "smtpd_relay_restrictions": "permit_mynetworks, permit_sasl_authenticated"})
    try:
        suite.start()
        try:
            c = socket.create_connection(("127.0.0.1", suite.port(25)), timeout=3)
            c.settimeout(3)
            c.recv(100)
            c.close()
        except OSError:
            pass
        check(wait_for(lambda: "smtpd_relay_restrictions and smtpd_recipient_restrictions parameters do not contain"
                       in suite.log_text(), timeout=15),
              "smtpd refuses to start an open relay and the log says why: " + suite.log_text()[-2000:])
        suite.stop()
    finally:
        suite.cleanup()


def main():
    suite = Suite(HOLD_MAIL)
    try:
        rcpt = write(suite, "rcpt_access", "demo+held@example.test HOLD\ndemo+refused@example.test REJECT no mail for this one\n"
                     "demo+gone@example.test DISCARD\n")
        senders = write(suite, "sender_access", "trusted.example OK\nspam.example REJECT\n")
        suite.configure({
            "smtpd_sender_restrictions": f"check_sender_access texthash:{senders}",
            "smtpd_recipient_restrictions": f"check_recipient_access texthash:{rcpt}",
        })
        suite.start()
        test_access_tables(suite)
        suite.stop()
        clients = write(suite, "client_access", "127.0.0 DEFER try later, 127.0.0\n")
        suite.configure({
            "smtpd_sender_restrictions": "",
            "smtpd_recipient_restrictions": "",
            "smtpd_client_restrictions": f"check_client_access texthash:{clients}",
        })
        suite.start()
        test_client_prefix_and_fqdn(suite)
        suite.stop()
        suite.configure({
            "smtpd_client_restrictions": "",
            "smtpd_helo_restrictions": "reject_non_fqdn_helo_hostname",
            # The relay list runs before the recipient list: the non-FQDN check goes first in it.
            "smtpd_relay_restrictions": "reject_non_fqdn_recipient, permit_mynetworks, permit_sasl_authenticated, "
                                        "reject_unauth_destination",
            "smtpd_recipient_restrictions": "reject_non_fqdn_sender",
        })
        suite.start()
        test_non_fqdn_and_relay(suite)
        suite.stop()
    finally:
        suite.cleanup()
    test_open_relay_guard()


if __name__ == "__main__":
    main()
