"""ternsuper against a running suite: hold (mailq marks the message with "!"),
release, requeue and delete, each checked on disk and in the mail log, for
one ID, for IDs on standard input and for ALL; qmgr forgets what left
active/ and takes back what was released or requeued; -s repairs a misplaced
file, a stray name, an old tmp/ file and a wrong mode without losing mail."""
import os
import smtplib
import subprocess
import threading
import time

from tern_harness import HOLD_MAIL, BIN, Suite, check, fail, wait_for


def tool(suite, name, *args, stdin=None):
    return subprocess.run([os.path.join(BIN, name), "-c", suite.dir, *args], capture_output=True, text=True,
                          timeout=60, input=stdin)


def send(suite, n):
    s = smtplib.SMTP("127.0.0.1", suite.port(25), timeout=10)
    for i in range(n):
        s.sendmail(f"sender{i}@example.org", ["demo@example.test"], f"Subject: m{i}\r\n\r\nbody {i}\r\n".encode())
    s.quit()


def where(suite, qid):
    """The queue holding qid, by walking the queue directory."""
    for q in ("incoming", "active", "deferred", "hold", "corrupt"):
        for root, _, files in os.walk(os.path.join(suite.queue, q)):
            if qid in files:
                return os.path.relpath(os.path.join(root, qid), suite.queue)
    return None


def count(text, needle):
    return text.count(needle)


def main():
    suite = Suite({"queue_run_delay": "1h", **HOLD_MAIL})  # only wake-ups and inotify move mail in time
    try:
        suite.start()
        send(suite, 3)
        check(wait_for(lambda: len(suite.queue_files("active")) == 3, timeout=10), "three messages reach active/")
        ids = sorted(suite.queue_files("active"))
        a, b, c = ids
        check(wait_for(lambda: all(f"{i}: from=<" in suite.log_text() for i in ids)), "qmgr logged each one")

        # Hold one message.
        r = tool(suite, "ternsuper", "-h", a)
        check(r.returncode == 0 and "ternsuper: Placed on hold: 1 message" in r.stderr,
              f"ternsuper -h says what it did as postsuper does: {r.stderr.strip()}")
        check(where(suite, a) == f"hold/{a}", "the held message is in hold/")
        check(wait_for(lambda: f"tern/ternsuper[" in suite.log_text() and f"{a}: placed on hold" in suite.log_text()),
              "the mail log says ID: placed on hold")
        check(wait_for(lambda: f"{a}: no longer in active/" in suite.log_text()),
              "qmgr notices the message left active/ and forgets it")
        r = tool(suite, "ternqueue", "-p")
        check(any(l.startswith(a + "!") for l in r.stdout.splitlines()),
              f"mailq marks the held message with '!' as Postfix does: {r.stdout}")
        check(any(l.startswith(b + "*") for l in r.stdout.splitlines()), "and the others as active with '*'")
        r = tool(suite, "ternsuper", "-h", a)
        check(r.returncode == 0 and where(suite, a) == f"hold/{a}", "holding it again changes nothing")

        # Release it: qmgr takes it in again.
        before = count(suite.log_text(), f"{a}: from=<")
        r = tool(suite, "ternsuper", "-H", a)
        check(r.returncode == 0 and "ternsuper: Released from hold: 1 message" in r.stderr,
              f"ternsuper -H: {r.stderr.strip()}")
        check(wait_for(lambda: where(suite, a) == f"active/{a}"), "the released message is back in active/")
        check(wait_for(lambda: count(suite.log_text(), f"{a}: from=<") == before + 1 and
                       f"{a}: released from hold" in suite.log_text()),
              "the log says released from hold, and qmgr logs it as taken in again")
        r = tool(suite, "ternsuper", "-H", b)
        check("no such message" in r.stderr and where(suite, b) == f"active/{b}",
              "releasing a message that is not on hold does nothing")

        # Requeue: qmgr routes it afresh, the file unchanged.
        content = open(os.path.join(suite.queue, "active", b), "rb").read()
        before = count(suite.log_text(), f"{b}: from=<")
        r = tool(suite, "ternsuper", "-r", b)
        check(r.returncode == 0 and "ternsuper: Requeued: 1 message" in r.stderr, f"ternsuper -r: {r.stderr.strip()}")
        check(wait_for(lambda: count(suite.log_text(), f"{b}: from=<") == before + 1 and
                       f"{b}: requeued" in suite.log_text()),
              "the log says requeued and qmgr takes it in again")
        check(wait_for(lambda: where(suite, b) == f"active/{b}") and
              open(os.path.join(suite.queue, "active", b), "rb").read() == content,
              "the requeued message is back in active/ with the same bytes")

        # ALL.
        r = tool(suite, "ternsuper", "-h", "ALL")
        check(r.returncode == 0 and "ternsuper: Placed on hold: 3 messages" in r.stderr, f"-h ALL: {r.stderr.strip()}")
        check(all(where(suite, i) == f"hold/{i}" for i in ids), "every message is in hold/")
        check(wait_for(lambda: all(f"{i}: no longer in active/" in suite.log_text() for i in ids)),
              "qmgr forgot each one")
        r = tool(suite, "ternsuper", "-H", "ALL")
        check(r.returncode == 0 and "ternsuper: Released from hold: 3 messages" in r.stderr, f"-H ALL: {r.stderr.strip()}")
        check(wait_for(lambda: all(where(suite, i) == f"active/{i}" for i in ids)), "all three are back in active/")
        r = tool(suite, "ternsuper", "-h", "ALL", "deferred")
        check(r.returncode == 0 and "Placed on hold" not in r.stderr and where(suite, a) == f"active/{a}",
              "a queue argument restricts where ALL looks")

        # Delete one, with its defer/ log.
        defer_log = os.path.join(suite.queue, "defer", a[10], a)
        os.makedirs(os.path.dirname(defer_log), exist_ok=True)
        with open(defer_log, "w") as f:
            f.write("recipient=demo@example.test\tstatus=4.4.1\n")
        r = tool(suite, "ternsuper", "-d", a)
        check(r.returncode == 0 and "ternsuper: Deleted: 1 message" in r.stderr, f"ternsuper -d: {r.stderr.strip()}")
        check(where(suite, a) is None and not os.path.exists(defer_log), "the file and its defer/ log are gone")
        check(wait_for(lambda: f"{a}: removed" in suite.log_text()), "the log says ID: removed")
        r = tool(suite, "ternsuper", "-d", a)
        check(r.returncode == 0 and "no such message" in r.stderr, "deleting it again only warns")
        r = tool(suite, "ternsuper", "-d", "not/an/id")
        check(r.returncode == 1 and "not a queue ID" in r.stderr, "a bad ID is refused")
        r = tool(suite, "ternsuper", "-d", "ALL", "maildrop")
        check(r.returncode == 1 and "does not apply" in r.stderr, "ternsuper does not touch maildrop/")

        # Delete from standard input.
        r = tool(suite, "ternsuper", "-d", "-", stdin=f"{b}\n\n")
        check(r.returncode == 0 and "Deleted: 1 message" in r.stderr and where(suite, b) is None,
              "-d - reads the IDs from standard input")

        # -s: a misplaced message, a stray name, an old tmp/ file, a wrong mode.
        moved = os.path.join(suite.queue, "deferred", "Z" if c[10] != "Z" else "Y", c)
        os.makedirs(os.path.dirname(moved), exist_ok=True)
        r = tool(suite, "ternsuper", "-h", c)  # out of qmgr's way first
        os.rename(os.path.join(suite.queue, "hold", c), moved)
        stray = os.path.join(suite.queue, "incoming", "stray file")
        with open(stray, "w") as f:
            f.write("not mail\n")
        old_tmp = os.path.join(suite.queue, "tmp", "0000000000000000A")
        with open(old_tmp, "w") as f:
            f.write("half a message")
        os.utime(old_tmp, (time.time() - 3 * 86400, time.time() - 3 * 86400))
        new_tmp = os.path.join(suite.queue, "tmp", "0000000000000000B")
        with open(new_tmp, "w") as f:
            f.write("being written")
        os.chmod(moved, 0o644)
        r = tool(suite, "ternsuper", "-s")
        right = os.path.join(suite.queue, "deferred", c[10], c)
        check(r.returncode == 0 and os.path.exists(right) and not os.path.exists(moved),
              f"-s moves a file from the wrong hashed subdirectory into the right one: {r.stderr}")
        check(os.stat(right).st_mode & 0o777 == 0o600, "and gives it mode 0600")
        check(os.path.exists(os.path.join(suite.queue, "corrupt", "stray file")) and not os.path.exists(stray),
              "a name that is not a queue ID goes to corrupt/, never deleted")
        check(os.path.exists(os.path.join(suite.queue, "corrupt", "0000000000000000A")) and os.path.exists(new_tmp),
              "a tmp/ file older than a day goes to corrupt/; a fresh one stays")
        check("Repaired: 4 problems" in r.stderr, f"-s sums up: {r.stderr.strip()}")
        check(wait_for(lambda: "wrong hashed subdirectory" in suite.log_text()), "each repair is in the mail log")
        r = tool(suite, "ternsuper", "-s")
        check(r.returncode == 0 and "Repaired" not in r.stderr, f"a second -s finds nothing: {r.stderr}")
        os.unlink(new_tmp)

        r = tool(suite, "ternqueue", "-p")
        check(any(l.startswith(c + " ") for l in r.stdout.splitlines()), f"mailq lists the repaired deferred message: {r.stdout}")
        r = tool(suite, "ternsuper", "-d", "ALL")
        check(r.returncode == 0 and "Deleted: 1 message" in r.stderr, f"-d ALL: {r.stderr.strip()}")
        r = tool(suite, "ternqueue", "-p")
        check(r.stdout == "Mail queue is empty\n", f"the queue is empty: {r.stdout!r}")
        check(os.path.exists(os.path.join(suite.queue, "corrupt", "stray file")), "ALL never reaches into corrupt/")

        # Racing qmgr: mail keeps arriving while everything is held, released
        # and requeued over and over; nothing is lost or duplicated.
        sender = threading.Thread(target=send, args=(suite, 200))
        sender.start()
        rounds = 0
        while sender.is_alive() and rounds < 200:
            for op in ("-h", "-H", "-r"):
                r = tool(suite, "ternsuper", op, "ALL")
                if r.returncode != 0:
                    fail(f"ternsuper {op} ALL while mail arrives: {r.stderr.strip()}")
            rounds += 1
        sender.join(60)
        r = tool(suite, "ternsuper", "-H", "ALL")
        check(r.returncode == 0, "the last release")
        check(wait_for(lambda: len(suite.queue_files("active")) == 200, timeout=15),
              f"after {rounds} rounds of hold, release and requeue under load all 200 messages are in active/: "
              f"{len(suite.queue_files())} in the queue, {len(suite.queue_files('active'))} active")
        check(not os.listdir(os.path.join(suite.queue, "corrupt")) or
              set(os.listdir(os.path.join(suite.queue, "corrupt"))) == {"stray file", "0000000000000000A"},
              "nothing went to corrupt/")
        check("error" not in "".join(l for l in suite.log_text().splitlines(True) if "tern/qmgr[" in l),
              "qmgr logged no error")
        suite.stop()
        check("panic:" not in suite.log_text(), "no daemon panicked, at work or while stopping")
    finally:
        suite.cleanup()


if __name__ == "__main__":
    main()
