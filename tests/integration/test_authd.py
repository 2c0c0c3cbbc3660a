"""authd against real clients: a throwaway instance from `ternctl init`, then
Dovecot's auth client protocol over queue/private/auth (PLAIN with the
printed demo password, a wrong password answered only after
auth_failure_delay, LOGIN over CONT rounds, an unknown user, broken lines
closing only their own connection) and the auth-master protocol over
queue/private/userdb (USER, NOTFOUND). As root, Debian's Postfix (installed
with a policy-rc.d that keeps its own service down) runs a private instance
with smtpd_sasl_type = dovecot pointed at Tern's socket, and Python's smtplib
authenticates through it. Exits 77 when not root: init as root is what
creates tern-auth, which owns the users file."""
import base64
import os
import re
import shutil
import smtplib
import socket
import subprocess
import tempfile
import time

from tern_harness import BIN, check, fail, free_port, pid_alive, skip, wait_for

TERNCTL = os.path.join(BIN, "ternctl")


class AuthClient:
    """Dovecot's auth client protocol, as Postfix's xsasl_dovecot_server speaks it."""

    def __init__(self, path, handshake=True):
        self.sock = socket.socket(socket.AF_UNIX)
        self.sock.settimeout(10)
        self.sock.connect(path)
        self.f = self.sock.makefile("rb")
        self.greeting = []
        while True:
            line = self.readline()
            self.greeting.append(line)
            if line in ("DONE", ""):
                break
        if handshake:
            self.send(f"VERSION\t1\t0\nCPID\t{os.getpid()}")

    def readline(self):
        return self.f.readline().decode(errors="replace").rstrip("\n")

    def send(self, text):
        self.sock.sendall((text + "\n").encode())

    def ask(self, text):
        self.send(text)
        return self.readline()

    def close(self):
        self.f.close()
        self.sock.close()


def b64(data):
    return base64.b64encode(data).decode()


def plain(user, password):
    return b64(b"\0" + user.encode() + b"\0" + password.encode())


def protocol_checks(queue, password):
    auth_path = os.path.join(queue, "private", "auth")
    c = AuthClient(auth_path)
    g = c.greeting
    check(g[0] == "VERSION\t1\t2" and g[1] == "MECH\tPLAIN\tplaintext" and g[2] == "MECH\tLOGIN\tplaintext"
          and g[3].startswith("SPID\t") and g[4].startswith("CUID\t") and re.fullmatch(r"COOKIE\t[0-9a-f]{32}", g[5])
          and g[6] == "DONE", f"the server handshake is Dovecot's: {g}")
    r = c.ask(f"AUTH\t1\tPLAIN\tservice=smtp\tnologin\tlip=127.0.0.1\trip=127.0.0.1\tsecured\tresp={plain('demo@example.test', password)}")
    check(r == "OK\t1\tuser=demo@example.test", f"AUTH PLAIN with the demo password: {r}")
    t = time.monotonic()
    r = c.ask(f"AUTH\t2\tPLAIN\tservice=smtp\tnologin\trip=127.0.0.1\tresp={plain('demo@example.test', 'wrong')}")
    took = time.monotonic() - t
    check(r == "FAIL\t2\tuser=demo@example.test", f"a wrong password fails: {r}")
    check(took >= 1.9, f"after auth_failure_delay (2s): {took:.2f}s")
    r = c.ask("AUTH\t3\tLOGIN\tservice=smtp\tnologin")
    check(r == "CONT\t3\t" + b64(b"Username:"), f"AUTH LOGIN asks for the user name: {r}")
    r = c.ask("CONT\t3\t" + b64(b"demo@example.test"))
    check(r == "CONT\t3\t" + b64(b"Password:"), f"then for the password: {r}")
    r = c.ask("CONT\t3\t" + b64(password.encode()))
    check(r == "OK\t3\tuser=demo@example.test", f"LOGIN succeeds: {r}")
    r = c.ask(f"AUTH\t4\tPLAIN\tservice=smtp\tresp={plain('nobody@example.test', password)}")
    check(r == "FAIL\t4\tuser=nobody@example.test", f"an unknown user fails: {r}")
    r = c.ask("AUTH\t5\tPLAIN\tservice=smtp\tresp=%%%")
    check(r == "FAIL\t5\treason=Invalid base64 data in initial response", f"bad base64 gets a reason: {r}")
    c.close()

    for bad in ["GARBAGE", "AUTH\t1\tPLAIN", "AUTH\t1\tCRAM-MD5\tservice=smtp", "A" * 20000]:
        b = AuthClient(auth_path)
        b.send(bad)
        check(b.readline() == "", f"a broken line closes the connection: {bad[:30]!r}")
        b.close()
    b = AuthClient(auth_path, handshake=False)
    b.send("VERSION\t2\t0")
    check(b.readline() == "", "a client of another major version is disconnected")
    b.close()
    c = AuthClient(auth_path)
    r = c.ask(f"AUTH\t9\tPLAIN\tservice=smtp\tresp={plain('demo@example.test', password)}")
    check(r == "OK\t9\tuser=demo@example.test", f"the server still answers the next client: {r}")
    c.close()

    u = socket.socket(socket.AF_UNIX)
    u.settimeout(10)
    u.connect(os.path.join(queue, "private", "userdb"))
    uf = u.makefile("rb")
    hello = [uf.readline().decode().rstrip("\n") for _ in range(2)]
    check(hello[0] == "VERSION\t1\t0" and hello[1].startswith("SPID\t"), f"userdb greets as auth-master: {hello}")
    u.sendall(b"VERSION\t1\t0\nUSER\t1\tdemo@example.test\tservice=lmtp\nUSER\t2\tnobody@example.test\tservice=lmtp\n")
    r1 = uf.readline().decode().rstrip("\n")
    r2 = uf.readline().decode().rstrip("\n")
    return r1, r2, u, uf


def postfix_checks(inst_dir, queue, password, tmp):
    """A private Postfix whose smtpd authenticates through Tern's authd."""
    if not os.path.exists("/usr/sbin/postfix"):
        created = not os.path.exists("/usr/sbin/policy-rc.d")
        if created:
            with open("/usr/sbin/policy-rc.d", "w") as f:
                f.write("#!/bin/sh\nexit 101\n")
            os.chmod("/usr/sbin/policy-rc.d", 0o755)
        try:
            r = subprocess.run(["apt-get", "install", "-y", "-q", "--no-install-recommends", "postfix"],
                               capture_output=True, text=True, timeout=600,
                               env=dict(os.environ, DEBIAN_FRONTEND="noninteractive"))
        finally:
            if created:
                os.unlink("/usr/sbin/policy-rc.d")
        if r.returncode != 0:
            print("note: postfix could not be installed; the Postfix part is not run: " + r.stderr[-300:])
            return
    # "Postfix can use authd by joining tern-priv" (DESIGN.md).
    subprocess.run(["usermod", "-a", "-G", "tern-priv", "postfix"], check=True)
    port = free_port()
    pf = os.path.join(tmp, "postfix")
    os.makedirs(pf)
    pfq = os.path.join(tmp, "postfix-queue")
    pfd = os.path.join(tmp, "postfix-data")
    os.makedirs(pfq)  # postfix start creates what is below, not the directory itself
    os.makedirs(pfd)
    import pwd
    os.chown(pfd, pwd.getpwnam("postfix").pw_uid, -1)
    with open(os.path.join(pf, "main.cf"), "w") as f:
        f.write(f"""compatibility_level = 3.6
queue_directory = {pfq}
data_directory = {pfd}
myhostname = postfix.example.test
inet_interfaces = 127.0.0.1
inet_protocols = ipv4
mynetworks = 127.0.0.0/8
mydestination =
maillog_file = {tmp}/postfix.log
maillog_file_prefixes = {tmp}
smtpd_sasl_auth_enable = yes
smtpd_sasl_type = dovecot
smtpd_sasl_path = {queue}/private/auth
smtpd_tls_security_level = none
smtpd_relay_restrictions = permit_sasl_authenticated, reject
""")
    with open(os.path.join(pf, "master.cf"), "w") as f:
        f.write(f"""{port} inet n - n - - smtpd
pickup unix n - n 60 1 pickup
cleanup unix n - n - 0 cleanup
qmgr unix n - n 300 1 qmgr
rewrite unix - - n - - trivial-rewrite
bounce unix - - n - 0 bounce
defer unix - - n - 0 bounce
trace unix - - n - 0 bounce
verify unix - - n - 1 verify
flush unix n - n 1000? 0 flush
proxymap unix - - n - - proxymap
anvil unix - - n - 1 anvil
scache unix - - n - 1 scache
error unix - - n - - error
retry unix - - n - - error
discard unix - - n - - discard
smtp unix - - n - - smtp
showq unix n - n - - showq
postlog unix-dgram n - n - 1 postlogd
""")
    # postfix(1) reports its fatal errors only to a terminal or the log:
    # script(1) gives it one.
    r = subprocess.run(["script", "-qc", f"postfix -c {pf} start", "/dev/null"], capture_output=True, text=True,
                       timeout=60)
    if r.returncode != 0 or "fatal" in r.stdout:
        fail(f"the private Postfix instance starts: {r.stdout} {r.stderr}")
    try:
        wait_for(lambda: _port_open(port), timeout=10)
        s = smtplib.SMTP("127.0.0.1", port, timeout=30)
        code, msg = s.ehlo("client.example.test")
        check(b"AUTH PLAIN LOGIN" in msg, f"Postfix advertises the mechanisms authd announced: {msg!r}")
        try:
            s.login("demo@example.test", "wrong")
            fail("Postfix accepted a wrong password")
        except smtplib.SMTPAuthenticationError as e:
            check(e.smtp_code == 535, f"Postfix refuses a wrong password through authd: {e.smtp_code} {e.smtp_error!r}")
        s.close()
        s = smtplib.SMTP("127.0.0.1", port, timeout=30)
        s.ehlo("client.example.test")
        s.user, s.password = "demo@example.test", password
        code, msg = s.auth("PLAIN", s.auth_plain, initial_response_ok=True)
        check(code == 235, f"Postfix authenticates AUTH PLAIN through Tern's authd: {code} {msg!r}")
        code, _ = s.mail("demo@example.test")  # Postfix logs the SASL user with the transaction
        check(code == 250, "MAIL FROM after AUTH")
        code, _ = s.rcpt("someone@example.net")
        check(code == 250, "an authenticated client may relay (permit_sasl_authenticated)")
        s.rset()
        s.quit()
        s = smtplib.SMTP("127.0.0.1", port, timeout=30)
        s.ehlo("client.example.test")
        s.user, s.password = "demo@example.test", password
        code, msg = s.auth("LOGIN", s.auth_login, initial_response_ok=False)
        check(code == 235, f"and AUTH LOGIN (CONT rounds): {code} {msg!r}")
        s.quit()
        def postfix_log():
            try:
                with open(os.path.join(tmp, "postfix.log")) as f:
                    return f.read()
            except FileNotFoundError:
                return ""
        check(wait_for(lambda: "sasl_method=PLAIN, sasl_username=demo@example.test" in postfix_log(), timeout=10),
              "Postfix logs the SASL user authd named")
    finally:
        subprocess.run(["postfix", "-c", pf, "stop"], capture_output=True, timeout=60)


def _port_open(port):
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1):
            return True
    except OSError:
        return False


def main():
    if os.geteuid() != 0:
        skip("needs root: init creates the tern-auth account that owns the users file")
    if not os.path.exists(os.path.join(BIN, "authd")):
        fail("authd is not built")
    tmp = tempfile.mkdtemp(prefix="tern-authd.")
    os.chmod(tmp, 0o755)
    d = os.path.join(tmp, "inst")
    started = False
    try:
        r = subprocess.run([TERNCTL, "-c", d, "init", "--port-base", str(20000 + os.getpid() % 20000)],
                           capture_output=True, text=True, timeout=120)
        check(r.returncode == 0, f"ternctl init: {r.stderr.strip()[-300:]}")
        m = re.search(r"demo user: (\S+) password: (\S+)", r.stdout + r.stderr)
        check(m and m.group(1) == "demo@example.test", "init prints the demo user and its password")
        password = m.group(2)
        with open(os.path.join(d, "master.cf")) as f:
            mcf = f.read()
        # login/auth runs one process: imapd confirms imap-login's logins there.
        for svc, maxproc in (("auth", "-"), ("login/auth", "1"), ("userdb", "-")):
            check(re.search(rf"^{re.escape(svc)}\s+unix\s+-\s+n\s+n\s+-\s+{maxproc}\s+authd\n  -o tern_user=tern-auth\n",
                            mcf, re.M),
                  f"master.cf runs authd for {svc} as tern-auth")
        with open(os.path.join(d, "main.cf"), "a") as f:
            f.write("auth_failure_delay = 2s\n")
        r = subprocess.run([TERNCTL, "-c", d, "start"], capture_output=True, text=True, timeout=60)
        check(r.returncode == 0, f"ternctl start: {r.stdout.strip()} {r.stderr.strip()}")
        started = True
        queue = os.path.join(d, "queue")
        check(wait_for(lambda: os.path.exists(os.path.join(queue, "private", "auth"))), "private/auth exists")
        r1, r2, u, uf = protocol_checks(queue, password)
        check(r1 == f"USER\t1\tdemo@example.test\thome={d}/mail/example.test/demo\tuid={_uid('vmail')}\tgid={_gid('vmail')}",
              f"USER answers home, uid and gid: {r1}")
        check(r2 == "NOTFOUND\t2", f"NOTFOUND for an unknown user: {r2}")
        u.close()

        # A changed users file: the running authd finishes and a fresh one reads it.
        users = os.path.join(d, "users")
        with open(users, "a") as f:
            f.write("extra@example.test:{PLAIN}pw9:::::: userdb_quota_rule=*:storage=1G\n")

        def lookup_extra():
            try:
                s = socket.socket(socket.AF_UNIX)
                s.settimeout(5)
                s.connect(os.path.join(queue, "private", "userdb"))
                sf = s.makefile("rb")
                sf.readline(), sf.readline()
                s.sendall(b"VERSION\t1\t0\nUSER\t7\textra@example.test\tservice=lmtp\n")
                line = sf.readline().decode().rstrip("\n")
                sf.close()
                s.close()
                return line if line.startswith("USER\t7") else None
            except OSError:
                return None
        line = wait_for(lookup_extra, timeout=10, step=0.3)
        check(line and line.endswith("\tquota_rule=*:storage=1G"), f"a changed users file is read again: {line}")
        with open(os.path.join(d, "log", "maillog")) as f:
            log = f.read()
        check("login failed: user=<demo@example.test>, method=PLAIN, rip=127.0.0.1, service=smtp: password mismatch" in log,
              "a failed login is logged with the client address")

        postfix_checks(d, queue, password, tmp)
        r = subprocess.run([TERNCTL, "-c", d, "stop"], capture_output=True, text=True, timeout=60)
        started = False
        check(r.returncode == 0, "ternctl stop")
    finally:
        if started:
            subprocess.run([TERNCTL, "-c", d, "stop"], capture_output=True, timeout=60)
        if not os.environ.get("TERN_KEEP"):
            shutil.rmtree(tmp, ignore_errors=True)


def _uid(name):
    import pwd
    return pwd.getpwnam(name).pw_uid


def _gid(name):
    import pwd
    return pwd.getpwnam(name).pw_gid


if __name__ == "__main__":
    main()
