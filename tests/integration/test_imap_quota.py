"""imapd and the user's Maildir++ quota (the one lmtp-deliver enforces):
APPEND and COPY past the limit get NO [OVERQUOTA] and leave nothing behind;
APPEND, COPY, EXPUNGE and CLOSE keep maildirsize's sum equal to what is in
the store, so mail deleted over IMAP makes room for the next delivery at
once; MOVE changes nothing; DELETE of a folder makes the next reader recount.
GETQUOTAROOT / GETQUOTA (RFC 9208) show it; SETQUOTA is refused."""
import imaplib
import os
import re
import smtplib
import subprocess

from tern_harness import BIN, Suite, check, wait_for

USER = "q@example.test"
PW = "Quota-passw0rd"


def maildir(suite):
    return os.path.join(suite.dir, "mail", "example.test", "q", "Maildir")


def files(suite):
    """(bytes, count) of every message file in the store, from their names' S=."""
    total, n = 0, 0
    root = maildir(suite)
    if not os.path.isdir(root):
        return 0, 0
    for d in [root] + [os.path.join(root, x) for x in os.listdir(root) if x.startswith(".")]:
        for sub in ("new", "cur"):
            p = os.path.join(d, sub)
            if not os.path.isdir(p):
                continue
            for f in os.listdir(p):
                m = re.search(r",S=(\d+)", f)
                total += int(m.group(1)) if m else os.path.getsize(os.path.join(p, f))
                n += 1
    return total, n


def usage(suite):
    """(bytes, count) summed from maildirsize, or None when it is missing."""
    try:
        with open(os.path.join(maildir(suite), "maildirsize")) as f:
            lines = f.read().splitlines()
    except FileNotFoundError:
        return None
    b = c = 0
    for line in lines[1:]:
        x, y = line.split()
        b, c = b + int(x), c + int(y)
    return b, c


def body(kb, tag):
    return (f"From: a@example.org\r\nSubject: {tag}\r\n\r\n" + ("x" * 1022 + "\r\n") * kb).encode()


def deliver(suite, kb, tag):
    with smtplib.SMTP("127.0.0.1", suite.port(25), timeout=20) as s:
        try:
            s.sendmail("a@example.org", [USER], body(kb, tag))
            return 250
        except smtplib.SMTPRecipientsRefused as e:
            return list(e.recipients.values())[0][0]
        except smtplib.SMTPDataError as e:
            return e.smtp_code


def main():
    suite = Suite({"login_trusted_networks": "127.0.0.0/8"})
    try:
        r = subprocess.run([os.path.join(BIN, "ternadm"), "-c", suite.dir, "user", "add", USER, "-p", PW, "-q",
                            "*:storage=60K"], capture_output=True, text=True)
        check(r.returncode == 0, f"ternadm user add {USER} with *:storage=60K: {r.stderr.strip()}")
        suite.start()
        for i in range(2):
            check(deliver(suite, 10, f"d{i}") == 250, f"delivery {i + 1} of 10 KB is accepted")
        check(wait_for(lambda: files(suite)[1] == 2, timeout=10), "both are in the Maildir")
        check(usage(suite) == files(suite), f"lmtp-deliver's maildirsize matches the store: {usage(suite)}")

        c = imaplib.IMAP4("127.0.0.1", suite.port(143), timeout=15)
        c.login(USER, PW)
        caps = c.capability()[1][0].decode().split()
        check("QUOTA" in caps and "QUOTA=RES-STORAGE" in caps and "QUOTA=RES-MESSAGE" in caps,
              f"QUOTA (RFC 9208) is advertised after login: {caps}")
        typ, data = c.getquotaroot("INBOX")
        check(typ == "OK" and data == [[b'INBOX "User quota"'], [b'"User quota" (STORAGE 21 60)']],
              f"GETQUOTAROOT INBOX: the root and its usage in KiB (21020 bytes used of 60 KiB): {data}")
        typ, data = c.getquota('"User quota"')
        check(typ == "OK" and data == [b'"User quota" (STORAGE 21 60)'], f"GETQUOTA \"User quota\": {data}")
        typ, data = c.getquota("other")
        check(typ == "NO", f"GETQUOTA of a root that does not exist: NO: {data}")
        typ, data = c.setquota('"User quota"', "(STORAGE 1000000)")
        check(typ == "NO" and b"[NOPERM]" in data[0], f"SETQUOTA is refused: {data}")
        typ, data = c.getquotaroot("nosuchbox")
        check(typ == "NO" and b"[NONEXISTENT]" in data[0][0], f"GETQUOTAROOT of a missing mailbox: {data}")
        typ, data = c.append("INBOX", None, None, body(20, "a1"))
        check(typ == "OK", f"APPEND of 20 KB fits (40 of 60 KB used): {typ} {data}")
        check(usage(suite) == files(suite), f"maildirsize counts the APPEND: {usage(suite)} == {files(suite)}")
        before = files(suite)
        typ, data = c.append("INBOX", None, None, body(20, "a2"))
        check(typ == "NO" and b"[OVERQUOTA]" in data[0], f"APPEND past the quota: NO [OVERQUOTA]: {typ} {data}")
        tmp = os.listdir(os.path.join(maildir(suite), "tmp"))
        check(files(suite) == before and not tmp, f"and nothing is left behind (tmp/: {tmp})")

        c.select("INBOX")
        typ, data = c.copy("1:*", "Trash")
        check(typ == "NO" and b"[OVERQUOTA]" in data[0], f"COPY that would double the store: NO [OVERQUOTA]: {data}")
        c.select("Trash")
        check(c.select("Trash")[1][0] == b"0", "and Trash got nothing")
        c.select("INBOX")
        typ, data = c.copy("1", "Trash")
        check(typ == "OK", f"COPY of one 10 KB message fits (about 50 of 60 KB): {typ} {data}")
        check(usage(suite) == files(suite), f"maildirsize counts the COPY: {usage(suite)} == {files(suite)}")

        c.create("Archive")
        typ, _ = c._simple_command("MOVE", "2", "Archive")
        check(typ == "OK" and usage(suite) == files(suite), f"MOVE changes nothing: {usage(suite)} == {files(suite)}")

        c.store("1:*", "+FLAGS", "\\Deleted")
        c.expunge()
        check(usage(suite) == files(suite), f"EXPUNGE gives the space back: {usage(suite)} == {files(suite)}")
        c.select("Trash")
        c.store("1:*", "+FLAGS", "\\Deleted")
        c.close()
        check(usage(suite) == files(suite), f"so does CLOSE: {usage(suite)} == {files(suite)}")
        # 10 KB left in Archive: a 40 KB delivery fits now, at once (without
        # the deltas, lmtp-deliver would see 50 KB used and refuse it).
        check(deliver(suite, 40, "d-after") == 250 and wait_for(lambda: files(suite)[1] == 2, timeout=15),
              f"a 40 KB delivery right after the deletions reaches the Maildir: {files(suite)}")
        # lmtp-deliver records the delta just after the rename into new/.
        check(wait_for(lambda: usage(suite) == files(suite), timeout=10), f"{usage(suite)} == {files(suite)}")
        log = suite.log_text()
        check(not re.search(r"to=<q@example.test>.*status=deferred", log),
              "no delivery was deferred for quota on the way")

        typ, data = c.delete("Archive")
        check(typ == "OK" and usage(suite) is None, f"DELETE of a folder with mail: maildirsize goes: {usage(suite)}")
        check(deliver(suite, 5, "d-recount") == 250 and wait_for(lambda: files(suite)[1] == 2, timeout=15) and
              wait_for(lambda: usage(suite) == files(suite), timeout=10),
              f"the next delivery recounts the store: {usage(suite)} == {files(suite)}")
        c.logout()
        # A user without a quota has no quota root (RFC 9208 4.3.2).
        c = imaplib.IMAP4("127.0.0.1", suite.port(143), timeout=15)
        c.login(suite.user, suite.password)
        typ, data = c.getquotaroot("INBOX")
        check(typ == "OK" and data[0] == [b"INBOX"] and data[1] == [None],
              f"GETQUOTAROOT for a user without quota: * QUOTAROOT INBOX and no QUOTA: {data}")
        c.logout()
        log = suite.log_text()
        check("panic:" not in log and "fatal:" not in log, "no daemon panicked")
    finally:
        suite.stop()
        suite.cleanup()


if __name__ == "__main__":
    main()
