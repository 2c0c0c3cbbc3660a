"""Pieces the benches share: running commands, finding free ports, waiting
for a listener."""
import os
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


def _disk_writes():
    """Sectors written and discarded so far, summed over the block devices
    in /sys/block (whole disks only, so nothing counts twice)."""
    total = 0
    try:
        for dev in os.listdir("/sys/block"):
            if dev.startswith(("loop", "ram", "zram")):
                continue
            with open(f"/sys/block/{dev}/stat") as f:
                p = f.read().split()
            total += int(p[6]) + (int(p[13]) if len(p) > 13 else 0)
    except (OSError, ValueError, IndexError):
        return None
    return total


def settle(quiet=1.0, timeout=30.0):
    """Writes back what the page cache holds and waits until the disks have
    been quiet (nothing written or discarded) for `quiet` seconds, at most
    `timeout`: each measured run starts from an idle disk rather than inside
    the write-back, or the discards (mount -o discard), of the run before."""
    os.sync()
    deadline = time.monotonic() + timeout
    last = _disk_writes()
    if last is None:
        time.sleep(quiet)
        return
    still = time.monotonic()
    while time.monotonic() < deadline:
        time.sleep(0.2)
        now = _disk_writes()
        if now != last:
            last, still = now, time.monotonic()
        elif time.monotonic() - still >= quiet:
            return
