"""IDLE without inotify: when imapd cannot get an inotify instance (the
kernel's fs.inotify.max_user_instances reached; here the test build's
TERN_FAULTS=inotify:EMFILE makes inotify_init1 fail), it says so in a
warning, and an IDLE-ing session still learns of new mail by syncing the
folder every imapd_idle_check_interval. The control run, with the interval
far away, shows that nothing else would have told it. Exit status: 0 pass,
1 fail (needs a TERN_FAULT_INJECTION build; prints why and passes without)."""
import os
import shutil
import tempfile
import time

from imap_stdio import Raw
from tern_harness import check

MESSAGE = b"From: <alice@example.org>\r\nSubject: polled\r\n\r\nhi\r\n"


def deliver(home, n):
    """As a Maildir tool or lmtp-deliver does: write in tmp/, rename into new/."""
    maildir = os.path.join(home, "Maildir")
    name = f"{int(time.time())}.M{n}P{os.getpid()}.test,S={len(MESSAGE)}"
    tmp = os.path.join(maildir, "tmp", name)
    with open(tmp, "wb") as f:
        f.write(MESSAGE)
    os.rename(tmp, os.path.join(maildir, "new", name))


def idle_session(home, interval):
    r = Raw(home, extra=["-o", f"imapd_idle_check_interval={interval}"])
    check(r.greeting.startswith("* PREAUTH"), f"greeting: {r.greeting}")
    r.send("a1 SELECT INBOX\r\n")
    lines = r.until_tagged("a1")
    check(lines[-1].startswith("a1 OK"), f"SELECT: {lines}")
    r.send("a2 IDLE\r\n")
    check(r.line() == "+ idling", "IDLE")
    time.sleep(1)  # the sync IDLE starts with is over: what follows is news
    return r, [l for l in lines if l.endswith(" EXISTS")][0]


def stderr_of(r):
    r.send("DONE\r\na3 LOGOUT\r\n")
    r.until_tagged("a3")
    r.p.stdin.close()
    r.p.wait(timeout=10)
    return r.p.stderr.read().decode("utf-8", "replace")


def main():
    if os.environ.get("TERN_FAULT_BUILD", "1") != "1":
        print("skipped: making inotify fail needs a TERN_FAULT_INJECTION build")
        return
    os.environ["TERN_FAULTS"] = "inotify:24:1"  # EMFILE, as at max_user_instances
    work = tempfile.mkdtemp(prefix="tern-idle-poll.")
    try:
        home = os.path.join(work, "home")
        # Control: no inotify and the check an hour away: the delivery is not seen.
        r, exists = idle_session(home, "1h")
        check(exists == "* 0 EXISTS", f"an empty INBOX: {exists}")
        deliver(home, 1)
        try:
            line = r.line(timeout=3)
        except TimeoutError:
            line = None
        check(line is None, f"without inotify and without the check, IDLE hears nothing: {line}")
        err = stderr_of(r)
        check("inotify_init1" in err and "imapd_idle_check_interval" in err,
              f"imapd warns that it has no inotify instance: {err!r}")

        # With a 1 s check the next delivery reaches the IDLE-ing session.
        r, exists = idle_session(home, "1s")
        check(exists == "* 1 EXISTS", f"the first message is there: {exists}")
        t0 = time.monotonic()
        deliver(home, 2)
        line = r.line(timeout=5)
        took = time.monotonic() - t0
        check(line == "* 2 EXISTS", f"the check finds the delivery during IDLE: {line}")
        check(took < 3, f"within the interval plus a sync: {took:.2f} s")
        stderr_of(r)
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
