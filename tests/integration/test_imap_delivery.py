"""A message delivered by SMTP -> smtpd -> qmgr -> smtp-client (LMTP) ->
lmtp-deliver shows up in an IDLE-ing imapd session within 5 s; imapd's
PREAUTH mode finds the user through authd's userdb (private/userdb); and
the real suite: imaplib through imap-login (STARTTLS on 143, whose plain
socket imapd serves after the handoff, and implicit TLS on 993, which
imap-login proxies) to imapd under master. Exit status: 0 pass, 1 fail,
77 skip when not root."""
import imaplib
import os
import re
import smtplib
import time

from imap_stdio import IMAPD
from smtp_client import client_context
from tern_harness import Suite, check, skip, wait_for, maildir_new
import imap_stdio


class UserdbRaw(imap_stdio.Raw):
    """A PREAUTH session whose user is looked up in the suite's userdb."""

    def __init__(self, suite, user):
        import subprocess
        self.p = subprocess.Popen([IMAPD, "-c", suite.dir, "-u", user], stdin=subprocess.PIPE,
                                  stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        self.timeout = 10
        self.buf = b""
        self.greeting = self.line()


def send(suite, rcpt, subject):
    s = smtplib.SMTP("127.0.0.1", suite.port(25), timeout=20)
    s.sendmail("alice@example.org", [rcpt], f"From: <alice@example.org>\r\nSubject: {subject}\r\n\r\nhi\r\n".encode())
    s.quit()


def imaplib_work(m, label):
    typ, data = m.select("INBOX")
    check(typ == "OK" and data == [b"2"], f"{label}: SELECT INBOX through imap-login: {data}")
    typ, data = m.uid("FETCH", "1:*", "(UID FLAGS BODY.PEEK[HEADER.FIELDS (SUBJECT)])")
    subjects = [d[1] for d in data if isinstance(d, tuple)]
    check(subjects == [b"Subject: first\r\n\r\n", b"Subject: second\r\n\r\n"], f"{label}: UID FETCH: {subjects}")
    typ, data = m.append("Sent", "(\\Seen)", None, b"From: demo@example.test\r\nSubject: sent\r\n\r\nx\r\n")
    check(typ == "OK" and re.match(rb"\[APPENDUID \d+ \d+\]", data[0]), f"{label}: APPEND to Sent: {data}")
    typ, data = m.search(None, "SUBJECT", "second")
    check(data == [b"2"], f"{label}: SEARCH: {data}")
    check(m.logout()[0] == "BYE", f"{label}: LOGOUT")


def test_through_login(suite):
    m = imaplib.IMAP4("127.0.0.1", suite.port(143), timeout=20)
    m.starttls(ssl_context=client_context())
    typ, data = m.login(suite.user, suite.password)
    check(typ == "OK", f"LOGIN after STARTTLS on 143: {data}")
    imaplib_work(m, "143")
    m = imaplib.IMAP4_SSL("127.0.0.1", suite.port(993), ssl_context=client_context(), timeout=20)
    typ, data = m.login(suite.user, suite.password)
    check(typ == "OK", f"LOGIN on 993: {data}")
    imaplib_work(m, "993")
    check(wait_for(lambda: re.search(r"imap\(demo@example\.test\): Logged out in=\d+ out=\d+", suite.log_text())),
          "imapd logs the logout as Dovecot does")


def main():
    if os.geteuid() != 0:
        skip("needs root (the suite's accounts and userdb socket)")
    suite = Suite({"mynetworks": "127.0.0.0/8"})
    try:
        suite.start()
        demo = suite.user
        send(suite, demo, "first")
        check(wait_for(lambda: maildir_new(suite, demo), timeout=15), "the first message is delivered")
        r = UserdbRaw(suite, demo)
        check(r.greeting.startswith("* PREAUTH") and r.greeting.endswith(f"Logged in as {demo}"),
              f"imapd -u finds the user in the userdb: {r.greeting}")
        lines = r.cmd("a1", "SELECT INBOX")
        check("* 1 EXISTS" in lines and lines[-1] == "a1 OK [READ-WRITE] Select completed.", f"SELECT: {lines}")
        r.send("a2 IDLE\r\n")
        check(r.line() == "+ idling", "IDLE")
        t0 = time.monotonic()
        send(suite, demo, "second")
        line = r.line(timeout=5)
        took = time.monotonic() - t0
        check(line == "* 2 EXISTS", f"the delivered message reaches the IDLE-ing session: {line}")
        check(took < 5, f"within 5 s of the SMTP transaction: {took:.2f} s")
        r.line()  # RECENT
        r.send("DONE\r\n")
        r.until_tagged("a2")
        lines = r.cmd("a3", "FETCH 2 BODY.PEEK[HEADER.FIELDS (SUBJECT)]")
        check(any("Subject: second" in l for l in lines), f"and it is the message sent: {lines}")
        r.cmd("a4", "LOGOUT")
        check(r.close() == 0, "imapd exits 0")
        local, domain = demo.split("@")
        maildir = os.path.join(suite.dir, "mail", domain, local, "Maildir")
        uidlist = os.path.join(maildir, "tern-uidlist")
        check(os.path.exists(uidlist) and os.stat(uidlist).st_uid == os.stat(maildir).st_uid != 0,
              "run by root, imapd took the Maildir owner's uid (the UID list is not root's)")
        test_through_login(suite)
        r2 = UserdbRaw(suite, "nobody-here@example.test")
        check(r2.greeting.startswith("* BYE"), f"an unknown user gets BYE: {r2.greeting}")
        check(r2.close() == 67, "and exit status 67")
    finally:
        suite.stop()
        suite.cleanup()


if __name__ == "__main__":
    main()
