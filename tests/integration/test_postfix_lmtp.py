"""Interop: Postfix delivering into lmtp-deliver with lmtp:unix:.

A private Postfix instance (Debian's postfix package, its own service left
alone; no postmulti: its own main.cf and master.cf in a temporary directory,
as bench/smtp-intake makes one) takes a message over SMTP and hands it to
its lmtp(8) client, whose transport is lmtp:unix:<suite queue>/public/
postfix-lmtp; the message must arrive in the Tern user's Maildir with
Return-Path: and Delivered-To:, Postfix must log status=sent with
lmtp-deliver's per-recipient reply, and an unknown user must come back as
status=bounced with 550 5.1.1.

How Postfix reaches the socket. private/ is root:tern-priv 0750; Postfix's
lmtp client runs as the postfix account, which may enter it only once it
joins tern-priv (usermod -aG: it works, Postfix's daemons keep their
supplementary groups), a change to the machine's accounts that outlives the
test. Instead the suite gets one more master.cf service, as an operator
would add it: lmtp-deliver on public/postfix-lmtp (public/ is traversable
by all), group postfix, mode 0660, so only Postfix (and root) may connect,
and nothing outside the throwaway instance changes. Needs root (Postfix's
master runs as root, Tern's services drop to their accounts): exits 77 otherwise."""
import grp
import os
import re
import shutil
import smtplib
import subprocess
import time

from tern_harness import BIN, Suite, check, fail, free_port, skip, wait_for


def run(argv, **kw):
    return subprocess.run(argv, capture_output=True, text=True, timeout=60, **kw)


class Postfix:
    def __init__(self, top, lmtp_socket, recipients):
        self.dir = os.path.join(top, "postfix")
        self.etc = os.path.join(self.dir, "etc")
        self.queue = os.path.join(self.dir, "queue")
        self.log = os.path.join(self.dir, "maillog")
        os.makedirs(self.etc)
        os.makedirs(self.queue)  # postfix start creates the rest
        os.makedirs(os.path.join(self.dir, "data"))
        shutil.chown(os.path.join(self.dir, "data"), "postfix")
        self.port = free_port()
        with open(os.path.join(self.etc, "main.cf"), "w") as f:
            f.write(f"""compatibility_level = 3.6
queue_directory = {self.queue}
data_directory = {self.dir}/data
command_directory = /usr/sbin
daemon_directory = /usr/lib/postfix/sbin
shlib_directory = /usr/lib/postfix
meta_directory = /etc/postfix
mail_owner = postfix
setgid_group = postdrop
myhostname = interop.postfix.test
mydestination =
inet_interfaces = 127.0.0.1
inet_protocols = ipv4
mynetworks = 127.0.0.0/8
smtpd_relay_restrictions = permit_mynetworks, reject_unauth_destination
virtual_mailbox_domains = example.test
virtual_mailbox_maps = hash:{self.etc}/virtual_mailboxes
virtual_transport = lmtp:unix:{lmtp_socket}
alias_maps =
alias_database =
maillog_file = {self.log}
maillog_file_prefixes = {self.dir}
""")
        with open(os.path.join(self.etc, "master.cf"), "w") as f:
            f.write(f"""127.0.0.1:{self.port} inet n - n - - smtpd
cleanup   unix  n - n - 0 cleanup
qmgr      unix  n - n 300 1 qmgr
rewrite   unix  - - n - - trivial-rewrite
bounce    unix  - - n - 0 bounce
defer     unix  - - n - 0 bounce
trace     unix  - - n - 0 bounce
verify    unix  - - n - 1 verify
flush     unix  n - n 1000? 0 flush
proxymap  unix  - - n - - proxymap
scache    unix  - - n - 1 scache
lmtp      unix  - - n - - lmtp
error     unix  - - n - - error
retry     unix  - - n - - error
discard   unix  - - n - - discard
anvil     unix  - - n - 1 anvil
postlog   unix-dgram n - n - 1 postlogd
""")
        with open(os.path.join(self.etc, "virtual_mailboxes"), "w") as f:
            for r in recipients:
                f.write(f"{r} OK\n")
        r = run(["postmap", "-c", self.etc, os.path.join(self.etc, "virtual_mailboxes")])
        if r.returncode != 0:
            fail("postmap: " + r.stderr)
        self.started = False

    def start(self):
        r = run(["postfix", "-c", self.etc, "start"])
        if r.returncode != 0:  # postfix writes errors to stderr only on a terminal
            fail(f"postfix start failed: {r.stdout} {r.stderr} {self.log_text()[-2000:]}")
        self.started = True

    def stop(self):
        if self.started:
            run(["postfix", "-c", self.etc, "stop"])
            self.started = False

    def log_text(self):
        try:
            with open(self.log, errors="replace") as f:
                return f.read()
        except FileNotFoundError:
            return ""


def new_files(suite, local):
    d = os.path.join(suite.dir, "mail", "example.test", local, "Maildir", "new")
    try:
        return sorted(os.listdir(d))
    except FileNotFoundError:
        return []


def main():
    if os.geteuid() != 0:
        skip("needs root: Postfix's master runs as root and Tern's services drop to their accounts")
    for tool in ("/usr/sbin/postfix", "/usr/sbin/postmap", "/usr/lib/postfix/sbin/lmtp"):
        if not os.path.exists(tool):
            skip(f"{tool} is missing: install Debian's postfix package (with a policy-rc.d that exits 101)")
    suite = Suite()
    postfix = None
    try:
        with open(os.path.join(suite.dir, "master.cf"), "a") as f:
            f.write("# For the Postfix interop test: a socket only Postfix's group may use.\n"
                    "postfix-lmtp unix  n       n       n       -       -       lmtp-deliver\n"
                    "  -o tern_user=vmail\n"
                    "  -o tern_listen_group=postfix\n"
                    "  -o tern_listen_mode=0660\n")
        r = subprocess.run([os.path.join(BIN, "ternadm"), "-c", suite.dir, "user", "add", "bob@example.test", "-p",
                            "Bob-passw0rd"], capture_output=True, text=True, timeout=60)
        if r.returncode != 0:
            fail("ternadm user add: " + r.stderr)
        suite.start()
        sock = os.path.join(suite.queue, "public", "postfix-lmtp")
        check(wait_for(lambda: os.path.exists(sock), timeout=10), "public/postfix-lmtp exists")
        st = os.stat(sock)
        check(grp.getgrgid(st.st_gid).gr_name == "postfix" and (st.st_mode & 0o777) == 0o660,
              f"owned by group postfix, mode 0660 ({oct(st.st_mode & 0o777)})")

        postfix = Postfix(suite.tmp, sock, ["demo@example.test", "bob@example.test", "nobody@example.test"])
        postfix.start()
        s = None
        deadline = time.monotonic() + 15
        while s is None:
            try:
                s = smtplib.SMTP("127.0.0.1", postfix.port, timeout=10)
            except OSError:
                if time.monotonic() > deadline:
                    fail("Postfix's smtpd does not answer")
                time.sleep(0.2)
        msg = (b"From: sender@example.org\r\nTo: demo@example.test, bob@example.test\r\n"
               b"Subject: through Postfix\r\nMessage-ID: <interop-1@example.org>\r\n\r\nhello via lmtp\r\n")
        refused = s.sendmail("sender@example.org", ["demo@example.test", "bob@example.test"], msg)
        check(not refused, "Postfix's smtpd takes the message for demo and bob")
        s.sendmail("", ["nobody@example.test"], b"Subject: to nobody\r\n\r\nx\r\n")
        s.quit()

        check(wait_for(lambda: new_files(suite, "demo") and new_files(suite, "bob"), timeout=30, step=0.2),
              "the message reaches demo's and bob's Maildirs through Postfix's lmtp client")
        for local in ("demo", "bob"):
            with open(os.path.join(suite.dir, "mail", "example.test", local, "Maildir", "new",
                                   new_files(suite, local)[0]), "rb") as f:
                data = f.read()
            check(data.startswith(b"Return-Path: <sender@example.org>\r\nDelivered-To: " + local.encode() +
                                  b"@example.test\r\n") and b"hello via lmtp\r\n" in data and
                  b"Received: from " in data, f"{local}'s copy: Return-Path, Delivered-To, Postfix's Received:, body")
        sent = lambda local: re.search(rf"to=<{local}@example.test>, relay=[^,]*postfix-lmtp\], .*status=sent "
                                       rf"\(250 2.0.0 <{local}@example.test> Saved to INBOX\)", postfix.log_text())
        check(wait_for(lambda: sent("demo") and sent("bob"), timeout=15),
              "Postfix logs status=sent with lmtp-deliver's reply for each recipient")
        check(wait_for(lambda: re.search(r"to=<nobody@example.test>, .*status=bounced .*550 5.1.1", postfix.log_text()),
                       timeout=30), "an unknown user: Postfix logs status=bounced with 550 5.1.1")
        check(wait_for(lambda: "to=<demo@example.test>, msgid=<interop-1@example.org>" in suite.log_text()),
              "lmtp-deliver logs the delivery")
        postfix.stop()
        suite.stop()
    finally:
        if postfix:
            postfix.stop()
        suite.cleanup()


if __name__ == "__main__":
    main()
