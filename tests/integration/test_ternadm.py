"""ternadm(1) against a running suite made by `ternctl init`: `user add`
puts a user into the users file and that user logs in at once with smtplib
(STARTTLS, AUTH PLAIN on the submission port) without a reload; `user
passwd` changes the password (the old one gets 535, the new one 235); `user
del` removes it (535); comments, the demo user and the file's owner and mode
are untouched by all three. Also `pw` in each scheme, duplicates and
malformed addresses refused, the password from standard input, and `mailbox
status` saying it is not available yet; on a terminal the password is asked
twice without echo."""
import os
import pty
import select
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

        r = adm(suite, "mailbox", "status", suite.user)
        check(r.returncode == 1 and "not available yet" in r.stderr, f"mailbox status: {r.stderr!r}")
        check(not os.path.exists(path + ".tmp") and
              not any(n.startswith(".users.tmp") for n in os.listdir(suite.dir)), "no temporary file is left")
        suite.stop()
    finally:
        suite.cleanup()


if __name__ == "__main__":
    main()
