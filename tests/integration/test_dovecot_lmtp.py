"""Interop: smtp-client delivering into Dovecot's LMTP over inet:.

A private Dovecot 2.3 (Debian's dovecot-lmtpd; the package's own service is
never started) runs from a temporary directory with its own dovecot.conf:
base_dir and logs there, an LMTP listener on 127.0.0.1:<free port>, a
passwd-file userdb with one user whose Maildir lives under the temporary
directory, owned by vmail. It runs as `dovecot -F -c CONF`, a child of the
test, and is stopped by its PID. The test plays qmgr (lmtp_peer.Qmgr) on the
suite's private/lmtp with nexthop inet:127.0.0.1:PORT: the message must be
delivered (Dovecot's 250 per recipient), land in the user's Maildir, and
read back with `doveadm fetch`; an unknown user comes back bounced with
Dovecot's 550 5.1.1. Then end to end, as an administrator would set it up:
a second instance with qmgr and transport_maps "example.test
lmtp:inet:127.0.0.1:PORT" takes a message over SMTP and qmgr hands it to
smtp-client, which delivers it into Dovecot; qmgr logs status=sent with
Dovecot's reply and removes the message. Needs root (Dovecot's master, Tern's privilege
separation): exits 77 otherwise."""
import os
import re
import shutil
import smtplib
import signal
import socket
import subprocess
import time

from lmtp_peer import Qmgr, drop_qmgr, queue_message
from tern_harness import Suite, check, fail, free_port, pid_alive, skip, wait_for

DOMAIN = "example.test"
USER = f"demo@{DOMAIN}"  # the suite's demo user, and Dovecot's one user
STRANGER = "nobody@elsewhere.test"  # relayed by smtpd (mynetworks), unknown to Dovecot


class Dovecot:
    def __init__(self, top):
        self.dir = os.path.join(top, "dovecot")
        self.port = free_port()
        self.mail = os.path.join(self.dir, "mail")
        os.makedirs(os.path.join(self.dir, "run"))
        os.makedirs(os.path.join(self.dir, "state"))
        os.makedirs(self.mail)
        shutil.chown(self.mail, "vmail", "vmail")
        self.home = os.path.join(self.mail, "dove")
        self.log = os.path.join(self.dir, "dovecot.log")
        with open(os.path.join(self.dir, "users"), "w") as f:
            f.write(f"{USER}:{{PLAIN}}unused:vmail:vmail::{self.home}::\n")
        self.conf = os.path.join(self.dir, "dovecot.conf")
        with open(self.conf, "w") as f:
            f.write(f"""protocols = lmtp
base_dir = {self.dir}/run
state_dir = {self.dir}/state
log_path = {self.log}
instance_name = tern-test-{os.getpid()}
listen = 127.0.0.1
ssl = no
mail_location = maildir:~/Maildir
first_valid_uid = 1
default_internal_user = dovecot
default_login_user = dovenull
postmaster_address = postmaster@{DOMAIN}
auth_username_format = %Lu
passdb {{
  driver = passwd-file
  args = {self.dir}/users
}}
userdb {{
  driver = passwd-file
  args = {self.dir}/users
}}
service lmtp {{
  inet_listener lmtp {{
    address = 127.0.0.1
    port = {self.port}
  }}
}}
""")
        self.proc = None

    def start(self):
        self.proc = subprocess.Popen(["/usr/sbin/dovecot", "-F", "-c", self.conf],
                                     stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        def listening():
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
                return True
            except OSError:
                return False
        if not wait_for(listening, timeout=15):
            err = self.proc.stderr.read1(4000).decode(errors="replace") if self.proc.poll() is not None else ""
            fail(f"Dovecot's LMTP listener did not come up: {err} {self.log_text()[-2000:]}")

    def log_text(self):
        try:
            with open(self.log, errors="replace") as f:
                return f.read()
        except FileNotFoundError:
            return ""

    def stop(self):
        if self.proc and self.proc.poll() is None:
            os.kill(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.kill(self.proc.pid, signal.SIGKILL)
                self.proc.wait()

    def doveadm(self, *args):
        return subprocess.run(["doveadm", "-c", self.conf, *args], capture_output=True, text=True, timeout=30)


def end_to_end(dovecot, maildir_files):
    """qmgr routes by transport_maps to lmtp:inet: -> smtp-client -> Dovecot."""
    suite = Suite({"queue_run_delay": "1s", "minimal_backoff_time": "1s", "maximal_backoff_time": "2s"},
                  domain=DOMAIN)
    try:
        tmap = os.path.join(suite.dir, "transport")
        with open(tmap, "w") as f:
            f.write(f"{DOMAIN} lmtp:inet:127.0.0.1:{dovecot.port}\n")
        suite.configure({"transport_maps": "texthash:" + tmap})
        suite.start()
        before = len(maildir_files())
        s = smtplib.SMTP("127.0.0.1", suite.port(25), timeout=30)
        s.sendmail("carol@example.org", [USER], b"Subject: end to end\r\n\r\nthrough qmgr and smtp-client\r\n")
        s.quit()
        if not wait_for(lambda: len(maildir_files()) == before + 1, timeout=20):
            print(suite.log_text()[-3000:])
        check(wait_for(lambda: len(maildir_files()) == before + 1, timeout=1),
              "SMTP in -> qmgr -> transport_maps lmtp:inet: -> smtp-client -> Dovecot's Maildir")
        m = wait_for(lambda: re.search(r"(\w+): to=<demo@example\.test>, relay=127\.0\.0\.1\[127\.0\.0\.1\]:"
                                       + str(dovecot.port) + r", delay=[0-9.]+, delays=[0-9./]+, dsn=2\.0\.0, "
                                       r"status=sent \(250 2\.0\.0 <demo@example\.test> \S+ Saved\)",
                                       suite.log_text()), timeout=10)
        check(m, "qmgr logs status=sent with relay=127.0.0.1[127.0.0.1]:PORT and Dovecot's reply")
        check(wait_for(lambda: f"{m.group(1)}: removed" in suite.log_text(), timeout=10) and
              not suite.queue_files(), "and the message leaves the queue")
        r = dovecot.doveadm("search", "-u", USER, "mailbox", "INBOX", "subject", "end to end")
        check(r.returncode == 0 and len(r.stdout.strip().splitlines()) == 1, f"Dovecot finds it: {r.stdout.strip()}")
        suite.stop()
        check("panic:" not in suite.log_text(), "no daemon panicked")
    finally:
        suite.cleanup()


def main():
    if os.geteuid() != 0:
        skip("needs root: Dovecot's master and Tern's privilege separation")
    for path in ("/usr/sbin/dovecot", "/usr/lib/dovecot/lmtp"):
        if not os.path.exists(path):
            skip(f"{path} is missing: install Debian's dovecot-lmtpd (dev.sh test does)")
    # mynetworks: the test relays one message to a stranger through smtpd.
    suite = Suite({"queue_run_delay": "1h", "mynetworks": "127.0.0.0/8"}, domain=DOMAIN)
    dovecot = Dovecot(suite.tmp)
    try:
        drop_qmgr(suite)
        dovecot.start()
        suite.start()
        body = (b"Subject: to Dovecot\r\nMessage-ID: <interop-1@tern.test>\r\n\r\n"
                b"Hello Dovecot.\r\n.a line with a leading dot\r\n")
        qid = queue_message(suite, [STRANGER], body=body)
        q = Qmgr(suite)
        results, done = q.request(qid, f"inet:127.0.0.1:{dovecot.port}", [(0, STRANGER)])
        r = results.get(0, {})
        check(done is not None and r.get("action") == "bounced" and r.get("dsn") == "5.1.1" and
              r.get("reason", "").startswith("host 127.0.0.1[127.0.0.1] said: 550 5.1.1 ") and
              r.get("reason", "").endswith("(in reply to RCPT TO command)"),
              f"a user Dovecot does not know is refused at RCPT: bounced, 5.1.1, in Postfix's words: {r}")
        q.close()

        qid = queue_message(suite, [USER], body=body)
        q = Qmgr(suite)
        t0 = time.monotonic()
        results, done = q.request(qid, f"inet:127.0.0.1:{dovecot.port}", [(0, USER)])
        r = results.get(0, {})
        check(r.get("action") == "delivered" and r.get("dsn", "").startswith("2.") and
              r.get("relay") == f"127.0.0.1[127.0.0.1]:{dovecot.port}" and "Saved" in r.get("reason", ""),
              f"Dovecot's LMTP takes it: {r} in {time.monotonic() - t0:.2f}s")
        q.close()
        new = os.path.join(dovecot.home, "Maildir", "new")
        cur = os.path.join(dovecot.home, "Maildir", "cur")

        def files():
            out = []
            for d in (new, cur):
                if os.path.isdir(d):
                    out += [os.path.join(d, n) for n in os.listdir(d)]
            return out
        found = wait_for(files, timeout=5)
        check(len(found) == 1, f"one file in the user's Maildir: {found}")
        with open(found[0], "rb") as f:
            stored = f.read().replace(b"\r\n", b"\n")
        check(b"Hello Dovecot.\n.a line with a leading dot\n" in stored and b"Subject: to Dovecot" in stored and
              b"Return-Path: <alice@example.org>" in stored,
              "the file holds the message, the leading dot un-stuffed, Return-Path from MAIL FROM")
        r = dovecot.doveadm("fetch", "-u", USER, "hdr.subject body", "mailbox", "INBOX")
        check(r.returncode == 0 and "to Dovecot" in r.stdout and ".a line with a leading dot" in r.stdout,
              f"doveadm fetch reads it back: {r.stdout.strip()[:300]} {r.stderr.strip()[:300]}")
        r = dovecot.doveadm("search", "-u", USER, "mailbox", "INBOX", "header", "message-id", "interop-1@tern.test")
        check(r.returncode == 0 and len(r.stdout.strip().splitlines()) == 1,
              f"and doveadm search finds it by Message-ID: {r.stdout.strip()} {r.stderr.strip()[:200]}")
        suite.stop()
        check("panic:" not in suite.log_text(), "no daemon panicked")
        end_to_end(dovecot, files)
    finally:
        dovecot.stop()
        if dovecot.proc:
            check(not pid_alive(dovecot.proc.pid), "Dovecot stopped")
        suite.cleanup()


if __name__ == "__main__":
    main()
