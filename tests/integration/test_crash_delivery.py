#!/usr/bin/env python3
"""No mail loss across crashes (issue 4): 2000 messages go in over SMTP to
four local users while the whole process tree (master and every child) is
killed with SIGKILL at random moments, at least five times, and restarted
each time. At the end every message that was answered 250 must be in its
recipient's Maildir; none may be lost, none may land in another user's
Maildir. Duplicates are allowed (a crash between a delivery and its record
in the queue file redelivers) and are counted and printed.

Senders retry a message until it is answered 250 (a connection that breaks
mid-transaction may or may not have queued it: that is where duplicates can
come from). The killer stops master first (SIGSTOP, so it cannot fork while
the tree is listed), lists its descendants from /proc, then kills them all
with SIGKILL: only processes this test started, by PID."""

import os
import random
import re
import signal
import smtplib
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(__file__))
from tern_harness import BIN, Suite, check, descendants, fail, pid_alive, wait_for  # noqa: E402

MESSAGES = int(os.environ.get("TERN_CRASH_MESSAGES", "2000"))
KILLS = 5
SENDERS = 8
USERS = ["crash0", "crash1", "crash2", "crash3"]
DEADLINE = 240  # seconds for the whole sending phase
TOKEN = re.compile(rb"^X-Crash-Token: (\d+)\r?$", re.M)


def kill_tree(master_pid):
    try:
        os.kill(master_pid, signal.SIGSTOP)
    except ProcessLookupError:
        return 0
    victims = [master_pid] + descendants(master_pid)
    for pid in victims:
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    wait_for(lambda: not any(pid_alive(p) for p in victims), timeout=10)
    return len(victims)


def message(token, user, domain):
    return (f"From: sender@outside.test\r\nTo: {user}@{domain}\r\nSubject: crash test {token}\r\n"
            f"Message-ID: <crash.{token}@outside.test>\r\nX-Crash-Token: {token}\r\n\r\n"
            f"token {token}\r\n" + "filler line to make the message a realistic size\r\n" * 30)


def maildir_tokens(suite):
    """{token: [user, ...]} over every INBOX file of every crash user."""
    found = {}
    for user in USERS:
        home = os.path.join(suite.dir, "mail", suite.domain, user, "Maildir")
        for sub in ("new", "cur"):
            d = os.path.join(home, sub)
            if not os.path.isdir(d):
                continue
            for name in os.listdir(d):
                try:
                    with open(os.path.join(d, name), "rb") as f:
                        head = f.read(4096)
                except FileNotFoundError:
                    continue  # moved new/ -> cur/ meanwhile: seen under cur/
                m = TOKEN.search(head)
                if m:
                    found.setdefault(int(m.group(1)), []).append(user)
    return found


def main():
    suite = Suite({
        "minimal_backoff_time": "1s",
        "maximal_backoff_time": "2s",
        "queue_run_delay": "1s",
    })
    try:
        for user in USERS:
            r = os.system(f"{BIN}/ternadm -c {suite.dir} user add {user}@{suite.domain} -p crash-pw >/dev/null")
            check(r == 0, f"ternadm user add {user}")
        suite.start()
        port = suite.port(25)
        pending = list(range(MESSAGES))
        acked = set()
        lock = threading.Lock()
        stop = time.monotonic() + DEADLINE
        attempts = [0]

        def sender():
            while time.monotonic() < stop:
                with lock:
                    if not pending:
                        return
                    token = pending.pop()
                user = USERS[token % len(USERS)]
                try:
                    with smtplib.SMTP("127.0.0.1", port, timeout=10) as s:
                        s.sendmail("sender@outside.test", [f"{user}@{suite.domain}"],
                                   message(token, user, suite.domain).encode())
                    with lock:
                        acked.add(token)
                except (OSError, smtplib.SMTPException):
                    with lock:
                        attempts[0] += 1
                        pending.insert(0, token)  # retried later, maybe a duplicate
                    time.sleep(0.05)

        threads = [threading.Thread(target=sender, daemon=True) for _ in range(SENDERS)]
        for t in threads:
            t.start()
        kills = 0
        rng = random.Random(int(os.environ.get("TERN_CRASH_SEED", str(int(time.time())))))
        # Kill i comes once about i/(KILLS+1) of the mail is acknowledged
        # (give or take a random share), so every crash hits mail in flight:
        # in smtpd, in the queue, in delivery.
        step = MESSAGES / (KILLS + 1)
        while kills < KILLS and any(t.is_alive() for t in threads):
            target = min(MESSAGES - 1, (kills + 1) * step + rng.uniform(-step / 3, step / 3))
            while len(acked) < target and any(t.is_alive() for t in threads) and time.monotonic() < stop:
                time.sleep(0.01)
            time.sleep(rng.uniform(0.0, 0.3))
            n = kill_tree(suite.master_pid)
            kills += 1
            print(f"kill {kills}: SIGKILL to {n} processes with {len(acked)} messages acknowledged")
            suite.master_pid = None
            time.sleep(rng.uniform(0.0, 0.3))
            suite.start()
        for t in threads:
            t.join(timeout=max(1, stop - time.monotonic()))
        check(kills >= KILLS, f"{kills} kills of the whole tree while mail was sent (at least {KILLS})")
        check(not pending, f"every message answered 250 within {DEADLINE}s ({len(pending)} left)")
        check(len(acked) == MESSAGES, f"{len(acked)} of {MESSAGES} messages acknowledged")

        # Everything acknowledged must arrive; flush deferred mail now and then.
        def all_there():
            subprocess_flush(suite)
            found = maildir_tokens(suite)
            return all(t in found for t in acked)

        if not wait_for(all_there, timeout=120, step=1.0):
            found = maildir_tokens(suite)
            lost = sorted(t for t in acked if t not in found)
            queued = suite.queue_files()
            corrupt = os.listdir(os.path.join(suite.queue, "corrupt"))
            fail(f"{len(lost)} acknowledged messages are missing (first: {lost[:10]}); "
                 f"{len(queued)} still queued, {len(corrupt)} in corrupt/\n" + suite.log_text()[-4000:])
        found = maildir_tokens(suite)
        wrong = [t for t, users in found.items() if any(u != USERS[t % len(USERS)] for u in users)]
        check(not wrong, f"no message in another user's Maildir ({wrong[:10]})")
        duplicates = sum(len(users) - 1 for users in found.values())
        corrupt = os.listdir(os.path.join(suite.queue, "corrupt"))
        check(not corrupt, f"nothing in corrupt/ ({corrupt[:5]})")
        print(f"{MESSAGES} messages, {kills} SIGKILLs of the whole tree, {attempts[0]} failed attempts retried: "
              f"0 lost, {duplicates} duplicates")
        suite.stop()
    finally:
        suite.cleanup()


def subprocess_flush(suite):
    os.system(f"{BIN}/ternqueue -c {suite.dir} -f >/dev/null 2>&1")


if __name__ == "__main__":
    main()
