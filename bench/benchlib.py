"""Pieces the benches share: running commands, finding free ports, waiting
for a listener or a quiet disk, removing a run's files."""
import os
import shutil
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


# ext4 without a journal avoids reusing an inode freed in the last 60 s, or
# the last 360 s while its inode table block is dirty (fs/ext4/ialloc.c,
# recently_deleted()): each new file's allocation steps over every such
# inode, reading its block from the buffer cache. After a bench removed tens
# of thousands of queue files, the next one's creates paid for it: that
# search was 11-18 % of all CPU time in a 10-session smtp-intake run started
# within minutes of another's clean-up, and none once the window had passed.
_RECENTLY_DELETED_S = 360
_STAMP = ".tern-bench-removed"


def _ext4_without_journal(path):
    """True if path is on an ext4 filesystem that has no journal."""
    dev = os.stat(path).st_dev
    want = f"{os.major(dev)}:{os.minor(dev)}"
    try:
        with open("/proc/self/mountinfo") as f:
            for line in f:
                left, _, right = line.partition(" - ")
                fields, rest = left.split(), right.split()
                if len(fields) < 3 or len(rest) < 2 or fields[2] != want:
                    continue
                if rest[0] != "ext4":
                    return False
                with open(f"/sys/fs/ext4/{os.path.basename(rest[1])}/journal_task") as j:
                    return j.read().strip() == "<none>"
    except OSError:
        pass
    return False


def remove_tree(path):
    """Removes a run's directory and notes when, next to it, for
    wait_for_removals()."""
    shutil.rmtree(path, ignore_errors=True)
    try:
        with open(os.path.join(os.path.dirname(path), _STAMP), "w") as f:
            f.write(f"{time.time():.0f}\n")
    except OSError:
        pass


def wait_for_removals(directory):
    """On ext4 without a journal, waits until files a bench removed in
    `directory` (remove_tree) are past the window in which new files would
    step over their inodes, so that no run pays for an earlier bench's
    clean-up."""
    try:
        with open(os.path.join(directory, _STAMP)) as f:
            removed = float(f.read())
    except (OSError, ValueError):
        return
    left = removed + _RECENTLY_DELETED_S - time.time()
    if left <= 0 or not _ext4_without_journal(directory):
        return
    print(f"waiting {left:.0f} s: an earlier bench removed its files from {directory} at "
          f"{time.strftime('%H:%M:%S', time.localtime(removed))}, and ext4 without a journal "
          "makes new files step over recently freed inodes for 6 minutes", flush=True)
    time.sleep(left)
