"""ternadm(1) against a running suite made by `ternctl init`: `user add`
puts a user into the users file and that user logs in at once with smtplib
(STARTTLS, AUTH PLAIN on the submission port) without a reload; `user
passwd` changes the password (the old one gets 535, the new one 235); `user
del` removes it (535); comments, the demo user and the file's owner and mode
are untouched by all three. Also `pw` in each scheme, duplicates and
malformed addresses refused, the password from standard input; `mailbox
status` before and after deliveries through lmtp-deliver (folders, new/cur
counts, quota use and limit from maildirsize); on a terminal the password is
asked twice without echo."""
import os
import pty
import select
import smtplib
import stat
import subprocess
import time

from smtp_client import submission_auth
from tern_harness import BIN, Suite, check, fail, wait_for

TERNADM = os.path.join(BIN, "ternadm")


def adm(suite, *args, stdin=None):
    return subprocess.run([TERNADM, "-c", suite.dir, *args], input=stdin, capture_output=True, text=True, timeout=60)


def login(suite, user, password):
    """The SMTP reply code of AUTH PLAIN on 587 after STARTTLS."""
    return submission_auth(suite.port(587), user, password)[0]


def users_text(suite):
    with open(os.path.join(suite.dir, "users")) as f:
        return f.read()


def on_terminal(args, typed):
    """Runs ternadm on a pseudo-terminal, typing each line of `typed` after
    each prompt; returns (everything the terminal showed, exit status)."""
    pid, fd = pty.fork()
    if pid == 0:
        os.execv(TERNADM, [TERNADM, *args])
    shown = b""
    deadline = time.monotonic() + 30
    pending = list(typed)
    while time.monotonic() < deadline:
        r, _, _ = select.select([fd], [], [], 0.2)
        if r:
            try:
                chunk = os.read(fd, 4096)
            except OSError:
                break
            if not chunk:
                break
            shown += chunk
            # One answer per prompt, written once the prompt is shown.
            while pending and shown.count(b"password: ") > len(typed) - len(pending):
                os.write(fd, pending.pop(0).encode() + b"\n")
    os.close(fd)
    _, status = os.waitpid(pid, 0)
    return shown.decode(errors="replace"), os.WEXITSTATUS(status)


def test_terminal():
    shown, rc = on_terminal(["pw", "-s", "YESCRYPT"], ["tty-Secret", "tty-Secret"])
    check(rc == 0 and "New password:" in shown and "Retype new password:" in shown and "{YESCRYPT}$y$" in shown,
          f"pw asks twice on a terminal: {shown!r}")
    check("tty-Secret" not in shown, "without echoing the password")
    shown, rc = on_terminal(["pw"], ["one", "two"])
    check(rc == 1 and "do not match" in shown and "{ARGON2ID}" not in shown, f"two different answers: {shown!r}")


def test_pw():
    for scheme, prefix in (("ARGON2ID", "{ARGON2ID}$argon2id$v=19$m=65536,t=3,p=1$"), ("SHA512-CRYPT", "{SHA512-CRYPT}$6$"),
                           ("BLF-CRYPT", "{BLF-CRYPT}$2b$10$"), ("yescrypt", "{YESCRYPT}$y$")):
        r = subprocess.run([TERNADM, "pw", "-s", scheme], input="s3cret\n", capture_output=True, text=True, timeout=30)
        check(r.returncode == 0 and r.stdout.startswith(prefix) and r.stdout.count("\n") == 1,
              f"ternadm pw -s {scheme} reads stdin and prints {prefix}...: {r.stdout!r} {r.stderr!r}")
    r = subprocess.run([TERNADM, "pw"], input="", capture_output=True, text=True, timeout=30)
    check(r.returncode == 1 and "no password" in r.stderr, f"no password on stdin is an error: {r.stderr!r}")
    r = subprocess.run([TERNADM, "pw", "-s", "PLAIN", "-p", "x"], capture_output=True, text=True, timeout=30)
    check(r.returncode == 1 and "PLAIN" in r.stderr, f"PLAIN is refused for new passwords: {r.stderr!r}")
    r = subprocess.run([TERNADM, "pw", "-s", "MD5"], capture_output=True, text=True, timeout=30)
    check(r.returncode == 2, f"an unknown scheme is a usage error: {r.returncode} {r.stderr!r}")


def deliver(suite, rcpt, body=b"Subject: status\r\n\r\nhello\r\n"):
    c = smtplib.LMTP(os.path.join(suite.queue, "private", "deliver"), timeout=20)
    c.ehlo()
    c.mail("sender@example.org")
    code, msg = c.rcpt(rcpt)
    if code != 250:
        fail(f"RCPT {rcpt}: {code} {msg}")
    code, msg = c.data(body)
    if code != 250:
        fail(f"DATA for {rcpt}: {code} {msg}")
    c.quit()


def test_mailbox_status(suite):
    r = adm(suite, "mailbox", "status", "nobody@example.test")
    check(r.returncode == 1 and "no such user" in r.stderr, f"mailbox status of an unknown user: {r.stderr!r}")
    r = adm(suite, "user", "add", "carol@example.test", "-p", "Carol-passw0rd", "-q", "*:storage=1M")
    check(r.returncode == 0, f"user add carol with a quota: {r.stderr!r}")
    r = adm(suite, "mailbox", "status", "carol@example.test")
    check(r.returncode == 0 and "no Maildir yet" in r.stdout and "limit 1048576 bytes, unlimited messages" in r.stdout,
          f"mailbox status before the first delivery: {r.stdout!r} {r.stderr!r}")
    deliver(suite, "carol@example.test")
    deliver(suite, "carol@example.test")
    md = os.path.join(suite.dir, "mail", "example.test", "carol", "Maildir")
    names = os.listdir(os.path.join(md, "new"))
    stored = sum(os.path.getsize(os.path.join(md, "new", n)) for n in names)
    r = adm(suite, "mailbox", "status", "carol@example.test")
    lines = r.stdout.splitlines()
    check(r.returncode == 0 and f"maildir: {md}" in lines, f"mailbox status names the Maildir: {r.stdout!r}")
    check(f"quota: {stored} of 1048576 bytes (0%), 2 of unlimited messages, from maildirsize" in lines,
          f"quota use and limit from maildirsize ({stored} bytes in 2 files): {lines}")
    rows = {l.split()[0]: l.split()[1:] for l in lines[lines.index(next(l for l in lines if l.startswith("folder"))) + 1:]}
    check(rows.get("INBOX") == ["2", "0"], f"INBOX: 2 new, 0 cur: {rows}")
    check(all(rows.get(f) == ["0", "0"] for f in ("Archive", "Drafts", "Junk", "Sent", "Trash")),
          f"and the special-use folders, empty: {rows}")
    # A folder with a non-ASCII name is shown decoded (modified UTF-7 on disk).
    owner = os.stat(md)
    folder = os.path.join(md, ".Entw&APw-rfe")
    for sub in ("", "cur", "new", "tmp"):
        os.makedirs(os.path.join(folder, sub), exist_ok=True)
        os.chown(os.path.join(folder, sub), owner.st_uid, owner.st_gid)
    os.rename(os.path.join(md, "new", names[0]), os.path.join(folder, "cur", names[0] + ":2,S"))
    r = adm(suite, "mailbox", "status", "carol@example.test")
    rows = {l.split()[0]: l.split()[1:] for l in r.stdout.splitlines() if not l.startswith(("user:", "maildir:", "quota:"))}
    check(rows.get("Entwürfe") == ["0", "1"] and rows.get("INBOX") == ["1", "0"],
          f"folders by their decoded names, new/ and cur/ counted apart: {r.stdout!r}")


def main():
    test_pw()
    test_terminal()
    suite = Suite()
    try:
        suite.start()
        path = os.path.join(suite.dir, "users")
        before = os.stat(path)
        original = users_text(suite)
        user, pw1, pw2 = "Alice@Example.TEST", "first-Passw0rd", "second-Passw0rd"

        r = adm(suite, "user", "add", user, "-q", "*:storage=1G", stdin=pw1 + "\n")
        check(r.returncode == 0 and "added alice@example.test" not in r.stdout and "added Alice@example.test" in r.stdout,
              f"user add (password from stdin; the domain lower-cased): {r.stdout!r} {r.stderr!r}")
        text = users_text(suite)
        check(text.startswith(original), "the lines before it are kept byte for byte")
        line = text[len(original):]
        check(line.startswith("Alice@example.test:{ARGON2ID}$argon2id$") and
              line.endswith(f"::{suite.dir}/mail/example.test/Alice::userdb_quota_rule=*:storage=1G\n"),
              f"the new line has init's shape: {line!r}")
        after = os.stat(path)
        check((after.st_uid, after.st_gid, stat.S_IMODE(after.st_mode)) ==
              (before.st_uid, before.st_gid, stat.S_IMODE(before.st_mode)),
              f"owner, group and mode kept ({after.st_uid}:{after.st_gid} {oct(stat.S_IMODE(after.st_mode))})")
        check(after.st_ino != before.st_ino, "the file was replaced by a rename, not rewritten")

        code = login(suite, "alice@example.test", pw1)
        check(code == 235, f"the new user logs in at once over STARTTLS on 587, no reload: {code}")
        check(login(suite, suite.user, suite.password) == 235, "and the demo user still does")

        r = adm(suite, "user", "add", "ALICE@example.test", "-p", "x")
        check(r.returncode == 1 and "exists" in r.stderr, f"a duplicate (other case) is refused: {r.stderr!r}")
        for bad in ("alice", "a/b@example.test", "x@[127.0.0.1]", '"a b"@example.test', "x@-bad-.test"):
            r = adm(suite, "user", "add", bad, "-p", "x")
            check(r.returncode == 1, f"a malformed address is refused: {bad!r}: {r.stderr.strip()!r}")
        check(users_text(suite) == text, "refusals leave the file alone")
        r = adm(suite, "user", "list")
        check(r.returncode == 0 and r.stdout == f"{suite.user}\nAlice@example.test\n", f"user list: {r.stdout!r}")

        r = adm(suite, "user", "passwd", "alice@example.test", "-s", "SHA512-CRYPT", "-p", pw2)
        check(r.returncode == 0, f"user passwd: {r.stdout!r} {r.stderr!r}")
        text2 = users_text(suite)
        check("Alice@example.test:{SHA512-CRYPT}$6$" in text2 and text2.startswith(original) and
              text2.endswith("::userdb_quota_rule=*:storage=1G\n"), "only the password field changed")
        check(login(suite, "alice@example.test", pw1) == 535, "the old password is refused (535)")
        check(login(suite, "alice@example.test", pw2) == 235, "the new one is accepted (235)")

        r = adm(suite, "user", "del", "alice@example.test")
        check(r.returncode == 0, f"user del: {r.stdout!r} {r.stderr!r}")
        check(users_text(suite) == original, "the file is as init wrote it again, byte for byte")
        check(login(suite, "alice@example.test", pw2) == 535, "a deleted user is refused (535)")
        r = adm(suite, "user", "del", "alice@example.test")
        check(r.returncode == 1 and "no such user" in r.stderr, f"deleting again: {r.stderr!r}")

        test_mailbox_status(suite)
        check(not os.path.exists(path + ".tmp") and
              not any(n.startswith(".users.tmp") for n in os.listdir(suite.dir)), "no temporary file is left")
        suite.stop()
    finally:
        suite.cleanup()


if __name__ == "__main__":
    main()
