"""imapd's commands with exact expectations, driven through the PREAUTH
mode (`imapd -u USER -m MAILDIR` on stdin/stdout) by Python's imaplib and by
raw transcripts. Exit status: 0 pass, 1 fail."""
import os
import shutil
import tempfile

from imap_stdio import Raw, imaplib_session
from tern_harness import check


def make_maildir(root):
    md = os.path.join(root, "Maildir")
    for d in ("cur", "new", "tmp"):
        os.makedirs(os.path.join(md, d), exist_ok=True)
    return md


def test_any_state(md):
    r = Raw(md)
    check(r.greeting.startswith("* PREAUTH [CAPABILITY IMAP4rev1") and r.greeting.endswith(
        "Logged in as alice@example.test"), f"PREAUTH greeting: {r.greeting}")
    lines = r.cmd("a1", "CAPABILITY")
    check(lines[0].startswith("* CAPABILITY IMAP4rev1") and lines[-1] == "a1 OK Capability completed.",
          f"CAPABILITY: {lines}")
    check(r.cmd("a2", "noop") == ["a2 OK NOOP completed."], "NOOP in lower case")
    lines = r.cmd("a3", "FROB")
    check(lines[-1].startswith("a3 BAD"), f"an unknown command is BAD: {lines}")
    check(r.cmd("a4", "LOGOUT") == ["* BYE Logging out", "a4 OK Logout completed."], "LOGOUT: BYE, then OK")
    check(r.close() == 0, "imapd exits 0 after LOGOUT")
    err = r.p.stderr.read().decode()
    check("imap(alice@example.test): Logged out in=" in err, f"the logout is logged as Dovecot does: {err}")


def test_imaplib(md):
    m = imaplib_session(md)
    check(m.state == "AUTH", f"imaplib sees the PREAUTH state: {m.state}")
    typ, data = m.noop()
    check(typ == "OK", f"imaplib NOOP: {typ} {data}")
    typ, data = m.logout()
    check(typ == "BYE", f"imaplib LOGOUT: {typ} {data}")


def main():
    root = tempfile.mkdtemp(prefix="tern-imap.")
    try:
        md = make_maildir(root)
        test_any_state(md)
        test_imaplib(md)
    finally:
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
