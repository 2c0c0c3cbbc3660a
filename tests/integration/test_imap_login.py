"""imap-login against the real suite: the greeting and CAPABILITY before and
after TLS, STARTTLS on 143 (RFC 3501 6.2.1; plain text pipelined after it
thrown away), implicit TLS on 993 (RFC 8314), LOGIN and AUTHENTICATE
refused before TLS (disable_plaintext_auth) and allowed from
login_trusted_networks, AUTHENTICATE PLAIN with SASL-IR (RFC 4959) and
LOGIN with its continuations and the "*" cancel, a wrong password
(NO [AUTHENTICATIONFAILED] after authd's delay), the pre-login limits; then
the handoff to imapd: the tagged OK written by imapd, commands pipelined
after LOGIN served by imapd, a forged handoff with a bad cookie refused by
imapd, and (as root) the process tree: imap-login as tern-login chrooted in
login/, imapd as vmail."""
import base64
import os
import socket
import ssl
import time

from smtp_client import client_context
from tern_harness import BIN, Suite, check, fail, wait_for


def have_imapd():
    return os.access(os.path.join(BIN, "imapd"), os.X_OK)


class Imap:
    """A byte-exact IMAP client: lines without CRLF."""

    def __init__(self, port, tls=False):
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=15)
        if tls:
            self.sock = client_context().wrap_socket(self.sock)
        self.buf = b""
        self.greeting = self.line()

    def line(self):
        while b"\r\n" not in self.buf:
            data = self.sock.recv(65536)
            if not data:
                raise EOFError("connection closed; have " + repr(self.buf))
            self.buf += data
        line, self.buf = self.buf.split(b"\r\n", 1)
        return line.decode(errors="replace")

    def send(self, data):
        self.sock.sendall(data if isinstance(data, bytes) else data.encode())

    def cmd(self, tag, text):
        """Sends '<tag> <text>' and returns (untagged lines, tagged line)."""
        self.send(f"{tag} {text}\r\n")
        return self.until(tag)

    def until(self, tag):
        untagged = []
        while True:
            line = self.line()
            if line.startswith(tag + " "):
                return untagged, line
            untagged.append(line)

    def starttls(self):
        self.sock = client_context().wrap_socket(self.sock)
        check(self.buf == b"", f"nothing left over from before TLS: {self.buf!r}")

    def closed(self, timeout=5):
        """True when the server closes the connection (EOF) within timeout."""
        self.sock.settimeout(timeout)
        try:
            while True:
                data = self.sock.recv(65536)
                if not data:
                    return True
                self.buf += data
        except (socket.timeout, ssl.SSLError, ConnectionResetError):
            return False

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass


def b64(data):
    return base64.b64encode(data).decode()


def plain_ir(user, password):
    return b64(b"\0" + user.encode() + b"\0" + password.encode())


def caps_of(line):
    start = line.index("[CAPABILITY ") + len("[CAPABILITY ")
    return line[start:line.index("]", start)].split()


# ---- before login ---------------------------------------------------------

def test_greeting_and_capability(suite):
    c = Imap(suite.port(143))
    check(c.greeting.startswith("* OK [CAPABILITY ") and c.greeting.endswith("] Tern ready."),
          f"greeting: {c.greeting}")
    caps = caps_of(c.greeting)
    for want in ("IMAP4rev1", "STARTTLS", "LOGINDISABLED", "SASL-IR", "ID"):
        check(want in caps, f"{want} in the plain-text greeting's capabilities: {caps}")
    check(not any(x.startswith("AUTH=") for x in caps), f"no AUTH= before TLS: {caps}")
    untagged, tagged = c.cmd("a1", "CAPABILITY")
    check(tagged.startswith("a1 OK") and untagged and untagged[0].startswith("* CAPABILITY "),
          f"CAPABILITY: {untagged} {tagged}")
    caps = untagged[0].split()[2:]
    check("STARTTLS" in caps and "LOGINDISABLED" in caps and not any(x.startswith("AUTH=") for x in caps),
          f"CAPABILITY before TLS: {caps}")
    _, tagged = c.cmd("a2", "NOOP")
    check(tagged == "a2 OK NOOP completed.", f"NOOP: {tagged}")
    untagged, tagged = c.cmd("a3", 'ID ("name" "test" "version" "1")')
    check(untagged == ['* ID ("name" "Tern")'] and tagged.startswith("a3 OK"), f"ID: {untagged} {tagged}")
    _, tagged = c.cmd("a4", "SELECT INBOX")
    check(tagged.startswith("a4 BAD"), f"SELECT before login: {tagged}")
    _, tagged = c.cmd("a5", "FROB")
    check(tagged.startswith("a5 BAD"), f"an unknown command: {tagged}")
    untagged, tagged = c.cmd("a6", "LOGOUT")
    check(untagged == ["* BYE Logging out"] and tagged.startswith("a6 OK"), f"LOGOUT: {untagged} {tagged}")
    check(c.closed(), "the connection closes after LOGOUT")
    c.close()


def test_plaintext_refused(suite):
    c = Imap(suite.port(143))
    _, tagged = c.cmd("a1", f'LOGIN "{suite.user}" "{suite.password}"')
    check(tagged.startswith("a1 NO [PRIVACYREQUIRED]"), f"LOGIN before TLS: {tagged}")
    _, tagged = c.cmd("a2", "AUTHENTICATE PLAIN " + plain_ir(suite.user, suite.password))
    check(tagged.startswith("a2 NO [PRIVACYREQUIRED]"), f"AUTHENTICATE before TLS: {tagged}")
    _, tagged = c.cmd("a3", "NOOP")
    check(tagged.startswith("a3 OK"), "the session goes on")
    c.close()
    check(wait_for(lambda: "tried to use disallowed plaintext auth" in suite.log_text()),
          "the refusal is logged")


def test_starttls(suite):
    c = Imap(suite.port(143))
    # Plain text pipelined after STARTTLS is thrown away, never answered.
    c.send("s1 STARTTLS\r\ns2 LOGIN injected command\r\n")
    _, tagged = c.until("s1")
    check(tagged == "s1 OK Begin TLS negotiation now.", f"STARTTLS: {tagged}")
    c.starttls()
    check(c.sock.version() in ("TLSv1.2", "TLSv1.3"), f"TLS is on: {c.sock.version()}")
    untagged, tagged = c.cmd("s3", "CAPABILITY")
    caps = untagged[0].split()[2:]
    check("STARTTLS" not in caps and "LOGINDISABLED" not in caps, f"after TLS: {caps}")
    check("AUTH=PLAIN" in caps and "AUTH=LOGIN" in caps, f"AUTH= after TLS: {caps}")
    _, tagged = c.cmd("s4", "STARTTLS")
    check(tagged.startswith("s4 BAD"), f"a second STARTTLS: {tagged}")
    _, tagged = c.cmd("s5", "NOOP")
    check(tagged.startswith("s5 OK"), f"the injected LOGIN was never answered: {tagged}")
    check(wait_for(lambda: "discarding" in suite.log_text() and "pipelined after STARTTLS" in suite.log_text()),
          "the discarded bytes are logged")
    # A wrong password: NO [AUTHENTICATIONFAILED] after authd's delay.
    t0 = time.monotonic()
    _, tagged = c.cmd("s6", f'LOGIN "{suite.user}" "wrong-password"')
    took = time.monotonic() - t0
    check(tagged == "s6 NO [AUTHENTICATIONFAILED] Authentication failed.", f"wrong password: {tagged}")
    check(took >= 0.9, f"the failure came after authd's delay: {took:.2f}s")
    _, tagged = c.cmd("s7", "NOOP")
    check(tagged.startswith("s7 OK"), "the session survives a failed login")
    c.close()


def test_imaps(suite):
    c = Imap(suite.port(993), tls=True)
    caps = caps_of(c.greeting)
    check(c.greeting.endswith("] Tern ready."), f"993 greeting: {c.greeting}")
    check("STARTTLS" not in caps and "AUTH=PLAIN" in caps and "LOGINDISABLED" not in caps,
          f"993 capabilities: {caps}")
    _, tagged = c.cmd("t1", "STARTTLS")
    check(tagged.startswith("t1 BAD"), f"STARTTLS on 993: {tagged}")
    c.close()
    # TLS 1.1 is refused (TLS 1.2 is the floor).
    try:
        raw = socket.create_connection(("127.0.0.1", suite.port(993)), timeout=10)
        s = client_context(maximum=ssl.TLSVersion.TLSv1_1).wrap_socket(raw)
        s.close()
        fail("TLS 1.1 was accepted on 993")
    except (ssl.SSLError, OSError):
        pass


def test_authenticate(suite):
    c = Imap(suite.port(993), tls=True)
    # LOGIN mechanism: two continuations (Username:, Password:), then a wrong
    # password; then the "*" cancel; then an unsupported mechanism.
    c.send("u1 AUTHENTICATE LOGIN\r\n")
    check(c.line() == "+ " + b64(b"Username:"), "LOGIN asks for the user")
    c.send(b64(suite.user.encode()) + "\r\n")
    check(c.line() == "+ " + b64(b"Password:"), "then for the password")
    c.send(b64(b"not-it") + "\r\n")
    _, tagged = c.until("u1")
    check(tagged.startswith("u1 NO [AUTHENTICATIONFAILED]"), f"AUTHENTICATE LOGIN, wrong password: {tagged}")
    c.send("u2 AUTHENTICATE PLAIN\r\n")
    check(c.line() == "+ ", "PLAIN without an initial response gets an empty continuation")
    c.send("*\r\n")
    _, tagged = c.until("u2")
    check(tagged.startswith("u2 BAD"), f"'*' cancels: {tagged}")
    _, tagged = c.cmd("u3", "AUTHENTICATE CRAM-MD5")
    check(tagged.startswith("u3 NO"), f"an unsupported mechanism: {tagged}")
    _, tagged = c.cmd("u4", "AUTHENTICATE PLAIN " + plain_ir("nobody@example.test", "x"))
    check(tagged.startswith("u4 NO [AUTHENTICATIONFAILED]"), f"an unknown user: {tagged}")
    untagged, tagged = c.cmd("u5", "AUTHENTICATE PLAIN " + plain_ir(suite.user, "still-wrong"))
    check(tagged.startswith("u5 NO [AUTHENTICATIONFAILED]"), f"a third failure: {tagged}")
    c.send("u6 NOOP\r\n")
    check(c.line() == "* BYE Too many invalid logins.", "three failed logins end the session with BYE")
    check(c.closed(timeout=5), "three failed logins end the session")
    c.close()


def test_limits(suite):
    c = Imap(suite.port(143))
    c.send("l1 NOOP " + "x" * 20000 + "\r\n")
    line = c.line()
    # The reader answers as soon as the line passes the limit, before it has
    # read the tag's line end: "* BAD" or "l1 BAD".
    check(line.startswith("* BAD") or line.startswith("l1 BAD"), f"an over-long command: {line[:80]}")
    _, tagged = c.cmd("l2", "NOOP")
    check(tagged.startswith("l2 OK"), "the session survives it")
    c.send("l3 LOGIN {100000}\r\n")
    _, tagged = c.until("l3")
    check(tagged.startswith("l3 BAD"), f"a huge literal before login: {tagged}")
    _, tagged = c.cmd("l4", "NOOP")
    check(tagged.startswith("l4 OK"), "the session survives it")
    c.close()
    # Too many commands before login.
    c = Imap(suite.port(143))
    c.send("".join(f"n{i} NOOP\r\n" for i in range(60)))
    lines = []
    while True:
        try:
            lines.append(c.line())
        except EOFError:
            break
    check(any(l.startswith("* BYE") for l in lines), f"BYE after too many commands: {lines[-3:]}")
    check(sum(1 for l in lines if l.endswith("OK NOOP completed.")) == 50, "50 commands were answered")
    c.close()


# ---- the handoff to imapd -------------------------------------------------

def test_login_handoff(suite):
    # STARTTLS, then LOGIN with commands pipelined behind it: imapd answers
    # the LOGIN's tag and then the pipelined commands.
    c = Imap(suite.port(143))
    _, tagged = c.cmd("h1", "STARTTLS")
    c.starttls()
    c.send(f'h2 LOGIN "{suite.user}" "{suite.password}"\r\nh3 NOOP\r\nh4 CAPABILITY\r\n')
    _, tagged = c.until("h2")
    check(tagged.startswith("h2 OK [CAPABILITY ") and "Logged in" in tagged, f"LOGIN over STARTTLS: {tagged}")
    _, tagged = c.until("h3")
    check(tagged.startswith("h3 OK"), f"NOOP pipelined after LOGIN, served by imapd: {tagged}")
    untagged, tagged = c.until("h4")
    check(tagged.startswith("h4 OK") and any(l.startswith("* CAPABILITY") for l in untagged),
          f"CAPABILITY after login: {untagged} {tagged}")
    untagged, tagged = c.cmd("h5", "LOGOUT")
    check(tagged.startswith("h5 OK") and any(l.startswith("* BYE") for l in untagged), f"LOGOUT: {tagged}")
    # RFC 8446 6.1: a clean TLS end (close_notify), not a truncation.
    c.sock.suppress_ragged_eofs = False
    check(c.closed(), "the proxy closes when imapd does, with close_notify (STARTTLS)")
    c.close()
    # 993 with SASL-IR.
    c = Imap(suite.port(993), tls=True)
    _, tagged = c.cmd("i1", "AUTHENTICATE PLAIN " + plain_ir(suite.user, suite.password))
    check(tagged.startswith("i1 OK"), f"AUTHENTICATE PLAIN with SASL-IR on 993: {tagged}")
    _, tagged = c.cmd("i2", "NOOP")
    check(tagged.startswith("i2 OK"), f"imapd answers through the proxy: {tagged}")
    _, tagged = c.cmd("i3", "LOGOUT")
    c.sock.suppress_ragged_eofs = False
    check(tagged.startswith("i3 OK") and c.closed(), "LOGOUT through the proxy on 993 ends with close_notify")
    c.close()
    # Before login imap-login closes the TLS session itself.
    for port, tls in ((993, True), (143, False)):
        c = Imap(suite.port(port), tls=tls)
        if not tls:
            c.cmd("j0", "STARTTLS")
            c.starttls()
        _, tagged = c.cmd("j1", "LOGOUT")
        c.sock.suppress_ragged_eofs = False
        check(tagged.startswith("j1 OK") and c.closed(), f"LOGOUT before login on {port} ends with close_notify")
        c.close()
    check(wait_for(lambda: f"imap-login handed over {suite.user}" in suite.log_text()),
          "imapd logs the handoff")


def test_forged_handoff(suite):
    """Whoever can reach login/imap cannot make imapd serve a user: imapd
    asks authd, which knows no login with this cookie."""
    path = os.path.join(suite.queue, "login", "imap")
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(10)
    s.connect(path)
    greeting = s.recv(1024)
    check(greeting == b"VERSION\timap-handoff\t1\t0\n", f"imapd greets: {greeting!r}")
    ours, theirs = socket.socketpair()
    line = (f"HANDOFF\tuser={suite.user}\tauth_id=1\tcookie={'ab' * 16}\tcpid=1\trip=192.0.2.1"
            f"\tlip=127.0.0.1\tsecured=1\ttag=x1\n").encode()
    socket.send_fds(s, [line], [theirs.fileno()])
    theirs.close()
    reply = s.recv(1024)
    check(reply.startswith(b"FAIL\t"), f"imapd refuses the forged handoff: {reply!r}")
    ours.settimeout(10)
    data = ours.recv(1024)
    check(data.startswith(b"* BYE"), f"the client gets * BYE: {data!r}")
    check(ours.recv(1024) == b"", "and is closed")
    ours.close()
    s.close()
    check(wait_for(lambda: "does not name a finished login" in suite.log_text()),
          "authd logs the unconfirmed REQUEST")


def test_process_tree(suite):
    if os.geteuid() != 0:
        print("not root: the process tree check is skipped")
        return
    import pwd

    # A client holds a pre-login imap-login and a logged-in imapd.
    pre = Imap(suite.port(143))
    post = Imap(suite.port(993), tls=True)
    post.cmd("p1", "AUTHENTICATE PLAIN " + plain_ir(suite.user, suite.password))

    def procs():
        out = {}
        for pid in os.listdir("/proc"):
            if not pid.isdigit():
                continue
            try:
                with open(f"/proc/{pid}/status") as f:
                    status = f.read()
                with open(f"/proc/{pid}/cmdline", "rb") as f:
                    cmd = f.read().split(b"\0")
                ppid = int(next(l.split()[1] for l in status.splitlines() if l.startswith("PPid:")))
                uid = int(next(l.split()[1] for l in status.splitlines() if l.startswith("Uid:")))
                root = os.readlink(f"/proc/{pid}/root")
            except (OSError, StopIteration):
                continue
            out[int(pid)] = (ppid, uid, os.path.basename(cmd[0].decode(errors="replace")), root)
        return out

    p = procs()
    children = {pid: v for pid, v in p.items() if v[0] == suite.master_pid}
    logins = [v for v in children.values() if v[2] == "imap-login"]
    imapds = [v for v in children.values() if v[2] == "imapd"]
    check(logins, "imap-login runs under master")
    check(imapds, "imapd runs under master")
    login_uid = pwd.getpwnam("tern-login").pw_uid
    vmail_uid = pwd.getpwnam("vmail").pw_uid
    for v in logins:
        check(v[1] == login_uid, f"imap-login runs as tern-login: uid {v[1]}")
        check(os.path.realpath(v[3]) == os.path.realpath(os.path.join(suite.queue, "login")),
              f"imap-login is jailed in login/: {v[3]}")
    for v in imapds:
        check(v[1] == vmail_uid, f"imapd runs as vmail: uid {v[1]}")
    pre.close()
    post.close()


def test_trusted_networks():
    suite = Suite({"login_trusted_networks": "127.0.0.0/8", "imap_login_client_connection_limit": "3"})
    try:
        suite.start()
        c = Imap(suite.port(143))
        caps = caps_of(c.greeting)
        check("AUTH=PLAIN" in caps and "LOGINDISABLED" not in caps, f"a trusted network may log in: {caps}")
        # Three pre-login connections from 127.0.0.1 at most.
        more = [Imap(suite.port(143)) for _ in range(2)]
        extra = Imap(suite.port(143))
        check(extra.greeting.startswith("* BYE"), f"a fourth connection is refused: {extra.greeting}")
        for m in more + [extra]:
            m.close()
        if have_imapd():
            _, tagged = c.cmd("a1", f'LOGIN "{suite.user}" "{suite.password}"')
            check(tagged.startswith("a1 OK"), f"LOGIN without TLS from a trusted network: {tagged}")
            _, tagged = c.cmd("a2", "NOOP")
            check(tagged.startswith("a2 OK"), f"imapd serves the plain socket itself: {tagged}")
        else:
            _, tagged = c.cmd("a1", f'LOGIN "{suite.user}" "{suite.password}"')
            check(tagged.startswith("a1 NO [UNAVAILABLE]"), f"LOGIN without imapd: {tagged}")
        c.close()
        suite.stop()
    finally:
        suite.cleanup()


def main():
    suite = Suite({"auth_failure_delay": "1s"})
    try:
        suite.start()
        check(wait_for(lambda: os.path.exists(os.path.join(suite.queue, "login", "auth"))), "login/auth exists")
        test_greeting_and_capability(suite)
        test_plaintext_refused(suite)
        test_starttls(suite)
        test_imaps(suite)
        test_authenticate(suite)
        test_limits(suite)
        if have_imapd():
            test_login_handoff(suite)
            test_forged_handoff(suite)
            test_process_tree(suite)
        else:
            print("imapd is not built yet: the handoff tests wait for it")
        suite.stop()
    finally:
        suite.cleanup()
    test_trusted_networks()


if __name__ == "__main__":
    main()
