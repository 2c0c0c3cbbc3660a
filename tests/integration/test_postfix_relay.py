"""Interop with Debian's Postfix over SMTP, both ways with STARTTLS, and
Tern relaying through Postfix as an authenticated smarthost.

A private Postfix instance (its own main.cf and master.cf in a temporary
directory, as test_postfix_lmtp.py runs one; the package's own service is
left alone) whose smtpd offers STARTTLS with the suite's certificate and
AUTH through Tern's authd (smtpd_sasl_type = dovecot on one more authd
socket, public/postfix-auth, group postfix, mode 0660: nothing outside the
throwaway instance changes), and relays only for authenticated clients.

  1. Tern -> Postfix: relayhost = [127.0.0.1]:PORT, smtp_tls_security_level
     = encrypt, smtp_sasl_auth_enable with demo's login in
     smtp_sasl_password_maps: Postfix logs the TLS session and
     sasl_username=demo@example.test, and takes the message (discard:).
  2. Postfix -> Tern: mail for example.test goes to smtp:[127.0.0.1]:<Tern's
     port 25> with smtp_tls_security_level = encrypt and reaches demo's
     Maildir, Received "with ESMTPS".
Needs root (Postfix's master runs as root): exits 77 otherwise."""
import os
import re
import smtplib
import subprocess
import time

from tern_harness import Suite, check, fail, free_port, skip, wait_for


def run(argv, **kw):
    return subprocess.run(argv, capture_output=True, text=True, timeout=60, **kw)


class Postfix:
    def __init__(self, top, suite):
        self.dir = os.path.join(top, "postfix")
        self.etc = os.path.join(self.dir, "etc")
        self.queue = os.path.join(self.dir, "queue")
        self.log = os.path.join(self.dir, "maillog")
        os.makedirs(self.etc)
        os.makedirs(self.queue)
        os.makedirs(os.path.join(self.dir, "data"))
        subprocess.run(["chown", "postfix", os.path.join(self.dir, "data")], check=True)
        self.port = free_port()
        auth = os.path.join(suite.queue, "public", "postfix-auth")
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
myhostname = relay.postfix.test
mydestination =
inet_interfaces = 127.0.0.1
inet_protocols = ipv4
mynetworks =
smtpd_tls_cert_file = {suite.dir}/tls/cert.pem
smtpd_tls_key_file = {suite.dir}/tls/key.pem
smtpd_tls_security_level = may
smtpd_tls_auth_only = yes
smtpd_tls_loglevel = 1
smtp_tls_loglevel = 1
smtpd_sasl_auth_enable = yes
smtpd_sasl_type = dovecot
smtpd_sasl_path = {auth}
smtpd_relay_restrictions = permit_sasl_authenticated, reject_unauth_destination
smtp_tls_security_level = encrypt
transport_maps = texthash:{self.etc}/transport
relay_transport = discard:
default_transport = discard:
alias_maps =
alias_database =
maillog_file = {self.log}
maillog_file_prefixes = {self.dir}
""")
        with open(os.path.join(self.etc, "transport"), "w") as f:
            f.write(f"example.test smtp:[127.0.0.1]:{suite.port(25)}\n")
        with open(os.path.join(self.etc, "master.cf"), "w") as f:
            f.write(f"""127.0.0.1:{self.port} inet n - n - - smtpd
cleanup   unix  n - n - 0 cleanup
qmgr      unix  n - n 300 1 qmgr
tlsmgr    unix  - - n 1000? 1 tlsmgr
rewrite   unix  - - n - - trivial-rewrite
bounce    unix  - - n - 0 bounce
defer     unix  - - n - 0 bounce
trace     unix  - - n - 0 bounce
verify    unix  - - n - 1 verify
flush     unix  n - n 1000? 0 flush
proxymap  unix  - - n - - proxymap
scache    unix  - - n - 1 scache
smtp      unix  - - n - - smtp
error     unix  - - n - - error
retry     unix  - - n - - error
discard   unix  - - n - - discard
anvil     unix  - - n - 1 anvil
postlog   unix-dgram n - n - 1 postlogd
""")
        self.started = False

    def start(self):
        r = run(["postfix", "-c", self.etc, "start"])
        if r.returncode != 0:
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


def main():
    if os.geteuid() != 0:
        skip("needs root: Postfix's master runs as root and Tern's services drop to their accounts")
    for tool in ("/usr/sbin/postfix", "/usr/lib/postfix/sbin/smtpd", "/usr/lib/postfix/sbin/smtp"):
        if not os.path.exists(tool):
            skip(f"{tool} is missing: install Debian's postfix package (with a policy-rc.d that exits 101)")
    suite = Suite({"mynetworks": "127.0.0.0/8", "smtp_tls_security_level": "encrypt",
                   "smtp_sasl_auth_enable": "yes", "queue_run_delay": "2s", "minimal_backoff_time": "2s",
                   "maximal_backoff_time": "2s"})
    postfix = None
    try:
        with open(os.path.join(suite.dir, "master.cf")) as f:
            lines = f.read().splitlines()
        auth = [l for l in lines if l.startswith("auth ") and " unix " in l]
        if not auth:
            fail("no auth service in master.cf")
        fields = auth[0].split()
        fields[0], fields[2] = "postfix-auth", "n"
        with open(os.path.join(suite.dir, "master.cf"), "a") as f:
            f.write("# For the Postfix interop test: authd for Postfix's smtpd only.\n" + " ".join(fields) +
                    "\n  -o tern_listen_group=postfix\n  -o tern_listen_mode=0660\n")
        postfix = Postfix(suite.tmp, suite)
        pw = os.path.join(suite.dir, "sasl_passwd")
        with open(pw, "w") as f:
            f.write(f"[127.0.0.1]:{postfix.port} demo@example.test:{suite.password}\n")
        os.chmod(pw, 0o600)
        suite.configure({"relayhost": f"[127.0.0.1]:{postfix.port}", "smtp_sasl_password_maps": f"texthash:{pw}"})
        suite.start()
        sock = os.path.join(suite.queue, "public", "postfix-auth")
        check(wait_for(lambda: os.path.exists(sock), timeout=10), "public/postfix-auth exists for Postfix's smtpd")
        postfix.start()
        deadline = time.monotonic() + 15
        while True:
            try:
                smtplib.SMTP("127.0.0.1", postfix.port, timeout=10).quit()
                break
            except OSError:
                if time.monotonic() > deadline:
                    fail("Postfix's smtpd does not answer")
                time.sleep(0.2)

        # --- 1. Tern relays through Postfix: STARTTLS, then AUTH ---------------------
        s = smtplib.SMTP("127.0.0.1", suite.port(25), timeout=20)
        s.sendmail("demo@example.test", ["bob@far.test"], b"Subject: via postfix\r\n\r\nrelayed\r\n")
        s.quit()
        sent = wait_for(lambda: re.search(r"to=<bob@far.test>, relay=127.0.0.1\[127.0.0.1\]:" + str(postfix.port) +
                                          r", .*status=sent \(250 2.0.0 Ok: queued as", suite.log_text()), timeout=30)
        plog = postfix.log_text()
        check(sent, f"Tern's log: status=sent by Postfix's smtpd: {sent.group(0) if sent else suite.log_text()[-1500:]}")
        check(re.search(r"sasl_method=PLAIN, sasl_username=demo@example.test", plog) and
              re.search(r"TLS connection established from", plog),
              "Postfix's log: the session was TLS, then AUTH PLAIN as demo@example.test (checked by Tern's authd): " +
              "\n".join(l for l in plog.splitlines() if "smtpd" in l)[-1500:])

        # --- 2. Postfix delivers to Tern over STARTTLS ---------------------------------
        c = smtplib.SMTP("127.0.0.1", postfix.port, timeout=20)
        c.starttls()
        c.login("demo@example.test", suite.password)
        c.sendmail("someone@elsewhere.test", ["demo@example.test"],
                   b"Subject: from postfix\r\nMessage-ID: <pf-1@elsewhere.test>\r\n\r\nvia postfix smtp\r\n")
        c.quit()
        new = os.path.join(suite.dir, "mail", "example.test", "demo", "Maildir", "new")

        def arrived():
            if not os.path.isdir(new):
                return None
            for n in os.listdir(new):
                with open(os.path.join(new, n), "rb") as f:
                    d = f.read()
                if b"pf-1@elsewhere.test" in d:
                    return d
            return None
        data = wait_for(arrived, timeout=30)
        check(data and b"via postfix smtp" in data and re.search(rb"by \S+ \(Tern\) with ESMTPS", data) and
              re.search(r"to=<demo@example.test>, relay=127.0.0.1\[127.0.0.1\]:\d+, .*status=sent", postfix.log_text()),
              "Postfix's smtp client delivers to Tern's smtpd over STARTTLS (Received: with ESMTPS), into demo's Maildir")
        postfix.stop()
        suite.stop()
    finally:
        if postfix:
            postfix.stop()
        suite.cleanup()


if __name__ == "__main__":
    main()
