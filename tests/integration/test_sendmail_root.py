"""Local submission across accounts (root only; exit 77 otherwise).

pickup refuses maildrop files that lie: one whose recorded uid is not its
owner's, one that carries a SASL login, one that carries a client address;
each moves to corrupt/ (kept) with a warning naming the reason, and none
reaches the queue. An ordinary user (nobody, through setpriv) can submit with
sendmail through the set-gid terndrop, which records that user's uid; such a
user may name the instance's configuration directory only when the default
main.cf lists it in alternate_config_directories (tested in a private mount
namespace, where a bind mount provides that default main.cf)."""
import os
import pwd
import re
import subprocess
import tempfile
import time

from tern_harness import HOLD_MAIL, BIN, Suite, check, fail, skip, wait_for

ID = r"[0-9A-Z]{17}"
ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
EX_NOPERM = 77


def queue_id(n):
    """A valid queue ID (17 base-32 digits): the time now, then n."""
    us = int(time.time() * 1e6)
    digits = []
    for _ in range(11):
        digits.append(ALPHABET[us & 31])
        us >>= 5
    tail = []
    for _ in range(6):
        tail.append(ALPHABET[n & 31])
        n >>= 5
    return "".join(reversed(digits)) + "".join(reversed(tail))


def maildrop_file(uid, extra=""):
    """A maildrop file as terndrop writes it, recording uid, plus extra records."""
    msg = b"Subject: forged\r\n\r\nx\r\n"
    head = (f"TERNQ 1\nARRIVAL 1700000000.000000\nSENDER forger@example.org\n{extra}"
            f"login root\nuid {uid}\nRCPT pending   \tTO=demo@example.test\nEOE\n").encode()
    return head + msg + f"END {len(msg)}\n".encode()


def plant(suite, name, content, owner):
    """Writes a file into maildrop/ owned by owner, as if terndrop had."""
    path = os.path.join(suite.queue, "maildrop", name)
    tmp = path + ".tmp"
    with open(tmp, "wb") as f:
        f.write(content)
    os.chown(tmp, owner, -1)
    os.chmod(tmp, 0o644)
    os.rename(tmp, path)


def sendmail_as_nobody(suite, nobody, args, data, default_etc=None):
    """Runs sendmail as nobody; with default_etc, in a mount namespace where
    default_etc is bind-mounted over the compiled-in configuration directory's
    parent."""
    setpriv = ["setpriv", f"--reuid={nobody.pw_uid}", f"--regid={nobody.pw_gid}", "--clear-groups", "--"]
    cmd = setpriv + [os.path.join(BIN, "sendmail"), "-C", suite.dir, *args]
    if default_etc:
        source, target = mount_point(default_etc)
        script = 'mount --bind "$1" "$2" && shift 2 && exec "$@"'
        cmd = ["unshare", "--mount", "--propagation", "private", "sh", "-c", script, "sh", source, target] + cmd
    return subprocess.run(cmd, input=data, capture_output=True, timeout=60, cwd="/")


def mount_point(default_etc):
    """(source, target) of the bind mount that makes default_etc/<name> the
    default configuration directory: over that directory when it exists,
    else over its parent (never over /etc itself, which the tools need)."""
    conf = default_config_dir()
    if os.path.isdir(conf):
        return os.path.join(default_etc, os.path.basename(conf)), conf
    parent = os.path.dirname(conf)
    if parent in ("/", "/etc") or not os.path.isdir(parent):
        skip(f"cannot provide a default main.cf for {conf} in a mount namespace")
    return default_etc, parent


def default_config_dir():
    r = subprocess.run([os.path.join(BIN, "ternconf"), "-d", "config_directory"], capture_output=True, text=True)
    return r.stdout.split("=", 1)[1].strip()


def main():
    if os.geteuid() != 0:
        skip("needs root: maildrop files owned by other users, setpriv, mount namespaces")
    nobody = pwd.getpwnam("nobody")
    suite = Suite({"queue_run_delay": "1h", **HOLD_MAIL})
    try:
        suite.start()
        corrupt = os.path.join(suite.queue, "corrupt")
        cases = [
            ("a recorded uid that is not the owner's", maildrop_file(0), nobody.pw_uid,
             f"recorded uid 0 is not the file's owner {nobody.pw_uid}"),
            ("a SASL login", maildrop_file(nobody.pw_uid, "sasl_username demo@example.test\n"), nobody.pw_uid,
             "carries the trusted attribute sasl_username"),
            ("a client address", maildrop_file(nobody.pw_uid, "client_address 192.0.2.1\n"), nobody.pw_uid,
             "carries the trusted attribute client_address"),
        ]
        for n, (what, content, owner, reason) in enumerate(cases):
            name = queue_id(n)
            plant(suite, name, content, owner)
            moved = wait_for(lambda: name in os.listdir(corrupt), timeout=70)
            check(moved, f"pickup moves a maildrop file with {what} to corrupt/")
            line = f"warning: maildrop/{name}: uid={owner}: refused ({reason}): moved to corrupt/"
            check(wait_for(lambda: line in suite.log_text()), f"with a warning naming the reason: {line}")
        check(not suite.queue_files(), "none of them reached the queue")

        # nobody without the directory listed in the default main.cf: refused.
        r = sendmail_as_nobody(suite, nobody, ["demo@example.test"], b"Subject: refused\n\nx\n")
        check(r.returncode == EX_NOPERM and b"alternate_config_directories" in r.stderr,
              f"terndrop refuses another user's -C when the default main.cf does not list it: {r.returncode} "
              f"{r.stderr}")
        check(not os.listdir(os.path.join(suite.queue, "maildrop")), "and writes nothing")

        # With it listed (in a private mount namespace), nobody can submit.
        with tempfile.TemporaryDirectory(prefix="tern-default-etc.") as etc:
            os.chmod(etc, 0o755)
            conf = os.path.join(etc, os.path.basename(default_config_dir()))
            os.mkdir(conf, 0o755)
            with open(os.path.join(conf, "main.cf"), "w") as f:
                f.write(f"alternate_config_directories = {suite.dir}\n")
            r = sendmail_as_nobody(suite, nobody, ["-t"], b"To: demo@example.test\nSubject: from nobody\n\nhi\n",
                                   default_etc=etc)
            check(r.returncode == 0, f"nobody submits with sendmail -t through the set-gid terndrop: {r.stderr}")
        line = wait_for(lambda: re.search(rf"({ID}): uid={nobody.pw_uid} from=<nobody>", suite.log_text()),
                        timeout=10)
        check(line, "pickup logs the message with nobody's uid")
        qid = line.group(1)
        files = wait_for(lambda: suite.queue_files("active").get(qid), timeout=10)
        check(files and f"uid {nobody.pw_uid}\n".encode() in files and b"login nobody\n" in files and
              f"(Tern, from userid {nobody.pw_uid})".encode() in files,
              "the queue file records nobody's uid and login, and so does Received:")
        # pickup removes the maildrop file only after the queue file is committed, and qmgr may move
        # that file to active/ first: wait for the removal rather than expect it already done.
        if not wait_for(lambda: not os.listdir(os.path.join(suite.queue, "maildrop")), timeout=10):
            fail("maildrop/ is not empty")
        suite.stop()
    finally:
        suite.cleanup()


if __name__ == "__main__":
    main()
