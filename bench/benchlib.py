"""Pieces the benches share: running commands, finding free ports, waiting
for a listener."""
import socket
import subprocess
import sys
import time


def die(msg):
    print(sys.argv[0].rsplit("/", 1)[-1] + ": " + msg, file=sys.stderr)
    sys.exit(1)


def run(argv, **kw):
    return subprocess.run(argv, capture_output=True, text=True, **kw)


def free_port_base():
    """A base N with N+24, +25, +143, +465, +587 and +993 free on 127.0.0.1."""
    for base in range(41000, 60000, 1000):
        ok = True
        for off in (25, 587, 465, 143, 993, 24, 125):
            with socket.socket() as s:
                try:
                    s.bind(("127.0.0.1", base + off))
                except OSError:
                    ok = False
                    break
        if ok:
            return base
    die("no free port base")


def wait_port(port, timeout=15):
    """True once something on 127.0.0.1:port accepts and greets."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1) as s:
                s.recv(100)
                return True
        except OSError:
            time.sleep(0.1)
    return False
