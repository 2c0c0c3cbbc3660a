"""A byte-exact SMTP client for the integration tests (plain or TLS), where
smtplib would hide the bytes: replies are (code, text of the last line)."""
import socket
import ssl

from tern_harness import check


def client_context(maximum=None):
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    if maximum is not None:
        ctx.minimum_version = ssl.TLSVersion.MINIMUM_SUPPORTED
        ctx.maximum_version = maximum
        ctx.set_ciphers("DEFAULT:@SECLEVEL=0")
    return ctx


class Raw:
    """A byte-exact SMTP client: replies are (code, text of the last line)."""

    def __init__(self, port, tls=False):
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=10)
        if tls:
            self.sock = client_context().wrap_socket(self.sock)
        self.buf = b""
        self.greeting = self.reply()

    def line(self):
        while b"\r\n" not in self.buf:
            data = self.sock.recv(65536)
            if not data:
                raise EOFError("connection closed")
            self.buf += data
        line, self.buf = self.buf.split(b"\r\n", 1)
        return line.decode(errors="replace")

    def reply_lines(self):
        lines = []
        while True:
            line = self.line()
            lines.append(line)
            if len(line) < 4 or line[3] != "-":
                return lines

    def reply(self):
        last = self.reply_lines()[-1]
        return int(last[:3]), last[4:]

    def send(self, data):
        self.sock.sendall(data if isinstance(data, bytes) else data.encode())

    def cmd(self, line):
        self.send(line + "\r\n")
        return self.reply()

    def ehlo(self, name="client.example.org"):
        self.send(f"EHLO {name}\r\n")
        lines = self.reply_lines()
        check(all(l.startswith("250") for l in lines), f"EHLO: {lines}")
        return [l[4:] for l in lines[1:]]

    def starttls(self):
        r = self.cmd("STARTTLS")
        expect(r, 220, "2.0.0", "STARTTLS")
        check(self.buf == b"", "nothing follows the 220 in plain text")
        self.sock = client_context().wrap_socket(self.sock)

    def close(self):
        self.sock.close()


def expect(reply, code, enhanced, what):
    check(reply[0] == code and reply[1].startswith(enhanced), f"{what}: {reply[0]} {reply[1]}")


def submission_auth(port, user, password):
    """(reply code, seconds taken) of AUTH PLAIN on a submission port after
    STARTTLS, through smtplib. PLAIN only: smtplib's login() would go on to
    try LOGIN after a failure, and authd counts each try against 127.0.0.1."""
    import smtplib
    import time
    s = smtplib.SMTP("127.0.0.1", port, timeout=20)
    try:
        s.ehlo("client.example.org")
        s.starttls(context=client_context())
        s.ehlo("client.example.org")
        s.user, s.password = user, password
        t0 = time.monotonic()
        try:
            code, _ = s.auth("PLAIN", s.auth_plain)
        except smtplib.SMTPAuthenticationError as e:
            code = e.smtp_code
        took = time.monotonic() - t0
        s.quit()
        return code, took
    finally:
        s.close()
