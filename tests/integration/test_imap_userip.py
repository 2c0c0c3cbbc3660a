"""mail_max_userip_connections (Dovecot's name): the sessions of one user from
one client address, counted by anvil over every imapd process. Past the limit
the login gets * BYE [LIMIT] (RFC 5530) and the connection closes; a session
that ends frees its place; another user, or the same user from another
address, is counted apart; plain and TLS sessions count together; a killed
imapd process releases its count (anvil forgets a closed connection's
counts)."""
import imaplib
import os
import signal
import socket
import ssl
import subprocess

from tern_harness import BIN, Suite, check, descendants, processes, wait_for


class Imap(imaplib.IMAP4):
    """imaplib from a chosen source address."""

    def __init__(self, port, source="127.0.0.1"):
        self.source = source
        super().__init__("127.0.0.1", port, timeout=15)

    def _create_socket(self, timeout):
        return socket.create_connection((self.host, self.port), timeout, source_address=(self.source, 0))


def login(port, user, password, source="127.0.0.1", tls=False):
    """(client, None) once logged in, or (None, the BYE text)."""
    try:
        if tls:
            ctx = ssl.create_default_context()
            ctx.check_hostname = False
            ctx.verify_mode = ssl.CERT_NONE
            c = imaplib.IMAP4_SSL("127.0.0.1", port, ssl_context=ctx, timeout=15)
        else:
            c = Imap(port, source)
        c.login(user, password)
        c.noop()
        return c, None
    except imaplib.IMAP4.abort as e:
        return None, str(e)


def main():
    suite = Suite({"login_trusted_networks": "127.0.0.0/8", "mail_max_userip_connections": "3",
                   "imap_login_client_connection_limit": "0"})
    open_ = []
    try:
        subprocess.run([os.path.join(BIN, "ternadm"), "-c", suite.dir, "user", "add", "bob@example.test", "-p",
                        "bobpw123"], check=True, capture_output=True)
        suite.start()
        user, pw, plain, tls = suite.user, suite.password, suite.port(143), suite.port(993)
        for i in range(2):
            c, bye = login(plain, user, pw)
            check(c is not None, f"plain session {i + 1} of 3 is served: {bye}")
            open_.append(c)
        c, bye = login(tls, user, pw, tls=True)
        check(c is not None, f"session 3 of 3, over TLS, is served (plain and TLS count together): {bye}")
        open_.append(c)
        c, bye = login(plain, user, pw)
        check(c is None and bye and "[LIMIT]" in bye and "mail_max_userip_connections=3" in bye,
              f"a 4th session of the same user from the same address gets * BYE [LIMIT]: {bye}")
        check(wait_for(lambda: "Maximum number of connections from user+IP exceeded" in suite.log_text(), timeout=5),
              "imapd logs the refusal as Dovecot does")
        c, bye = login(plain, "bob@example.test", "bobpw123")
        check(c is not None, f"another user from the same address is counted apart: {bye}")
        open_.append(c)
        c, bye = login(plain, user, pw, source="127.0.0.2")
        check(c is not None, f"the same user from another address is counted apart: {bye}")
        open_.append(c)
        open_.pop(0).logout()
        ok = wait_for(lambda: login(plain, user, pw)[0], timeout=5)
        check(ok, "a session that logged out frees its place")
        open_.append(ok)
        # Every imapd process killed: anvil forgets what their connections
        # counted, so the user is not locked out by sessions that are gone.
        procs = processes()
        imapds = [p for p in descendants(suite.master_pid) if procs.get(p, (0, ""))[1] == "imapd"]
        check(imapds, f"imapd processes to kill: {imapds}")
        for p in imapds:
            os.kill(p, signal.SIGKILL)
        for c in open_:
            try:
                c.shutdown()
            except Exception:
                pass
        open_.clear()
        got = []
        for i in range(3):
            c, bye = login(plain, user, pw)
            got.append(c is not None)
            if c:
                open_.append(c)
        check(all(got), f"after the imapd processes were killed, 3 sessions fit again: {got}")
        log = suite.log_text()
        check("panic:" not in log and "fatal:" not in log, "no daemon panicked")
    finally:
        for c in open_:
            try:
                c.logout()
            except Exception:
                pass
        suite.stop()
        suite.cleanup()


if __name__ == "__main__":
    main()
