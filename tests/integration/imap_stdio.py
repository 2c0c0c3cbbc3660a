"""imapd's PREAUTH mode (`imapd -u USER -h HOME`) for tests: a session on
a child's stdin/stdout, either through Python's imaplib (IMAP4_stream) or
raw, for transcripts imaplib cannot produce (IDLE, literals, pipelining)."""
import imaplib
import os
import select
import shlex
import subprocess
import time

from tern_harness import BIN

IMAPD = os.path.join(BIN, "imapd")


def stdio_command(home, user="alice@example.test", extra=()):
    args = [IMAPD, "-u", user, "-h", home, *extra]
    return " ".join(shlex.quote(a) for a in args)


def imaplib_session(home, user="alice@example.test", extra=()):
    """An imaplib client already in the authenticated state (PREAUTH)."""
    return imaplib.IMAP4_stream(stdio_command(home, user, extra) + " 2>/dev/null")


class Raw:
    """Bytes in, lines out, with a deadline on every read."""

    def __init__(self, home, user="alice@example.test", extra=(), timeout=10):
        self.p = subprocess.Popen([IMAPD, "-u", user, "-h", home, *extra], stdin=subprocess.PIPE,
                                  stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        self.timeout = timeout
        self.buf = b""
        self.greeting = self.line()

    def send(self, data):
        if isinstance(data, str):
            data = data.encode()
        self.p.stdin.write(data)
        self.p.stdin.flush()

    def _fill(self, deadline):
        left = deadline - time.monotonic()
        if left <= 0:
            raise TimeoutError("imapd said nothing in time; so far: %r" % self.buf[-300:])
        r, _, _ = select.select([self.p.stdout], [], [], left)
        if not r:
            raise TimeoutError("imapd said nothing in time; so far: %r" % self.buf[-300:])
        chunk = os.read(self.p.stdout.fileno(), 65536)
        if not chunk:
            raise EOFError("imapd closed its output; so far: %r" % self.buf[-300:])
        self.buf += chunk

    def line(self, timeout=None):
        deadline = time.monotonic() + (timeout or self.timeout)
        while b"\r\n" not in self.buf:
            self._fill(deadline)
        line, self.buf = self.buf.split(b"\r\n", 1)
        return line.decode("utf-8", "replace")

    def read_bytes(self, n, timeout=None):
        deadline = time.monotonic() + (timeout or self.timeout)
        while len(self.buf) < n:
            self._fill(deadline)
        data, self.buf = self.buf[:n], self.buf[n:]
        return data

    def until_tagged(self, tag, timeout=None):
        """Lines up to and including the tagged one; literals inline."""
        lines = []
        while True:
            line = self.line(timeout)
            # A line ending in {n} announces n octets that follow.
            if line.endswith("}") and "{" in line:
                n = int(line[line.rindex("{") + 1:-1])
                line += "\r\n" + self.read_bytes(n).decode("utf-8", "replace")
                line += self.line(timeout)
            lines.append(line)
            if line.startswith(tag + " "):
                return lines

    def cmd(self, tag, text, timeout=None):
        self.send(f"{tag} {text}\r\n")
        return self.until_tagged(tag, timeout)

    def close(self):
        try:
            self.p.stdin.close()
        except OSError:
            pass
        try:
            self.p.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self.p.kill()
            self.p.wait()
        return self.p.returncode


counter = [0]


def deliver(maildir, data, folder=""):
    """Writes a message as lmtp-deliver does (tmp/, then new/)."""
    counter[0] += 1
    d = os.path.join(maildir, folder) if folder else maildir
    base = f"{1700000000 + counter[0]}.M{counter[0]}P1Q{counter[0]}.test,S={len(data)},W={len(data)}"
    with open(os.path.join(d, "tmp", base), "wb") as f:
        f.write(data)
    os.rename(os.path.join(d, "tmp", base), os.path.join(d, "new", base))
    return base
