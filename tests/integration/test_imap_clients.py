"""Real IMAP clients from Debian against the real suite, over TLS through
imap-login and imapd: mbsync (isync) syncing a mailbox both ways (a message
delivered by SMTP -> lmtp-deliver reaches the local Maildir; a message and a
flag made locally reach the server), and fetchmail reading a message
headless (its MDA writes it to a file) and marking it seen. Each client is
skipped (exit 77 when neither runs) if its package is not installed: dev.sh
installs isync and fetchmail with the test packages."""
import glob
import imaplib
import os
import shutil
import smtplib
import subprocess
import sys
import time

from smtp_client import client_context
from tern_harness import BIN, SKIP, Suite, check, fail, maildir_new, wait_for


def send(suite, subject, body="hello from smtp\r\n"):
    s = smtplib.SMTP("127.0.0.1", suite.port(25), timeout=20)
    s.sendmail("someone@example.org", [suite.user],
               f"From: <someone@example.org>\r\nTo: <{suite.user}>\r\nSubject: {subject}\r\n"
               f"Message-ID: <{subject}@example.org>\r\n\r\n{body}".encode())
    s.quit()


def server_maildir(suite):
    local, domain = suite.user.split("@")
    return os.path.join(suite.dir, "mail", domain, local, "Maildir")


def server_files(suite):
    d = server_maildir(suite)
    return glob.glob(os.path.join(d, "cur", "*")) + glob.glob(os.path.join(d, "new", "*"))


def read(path):
    with open(path, "rb") as f:
        return f.read()


def cert_file(suite):
    """The certificate ternctl init made (self-signed): mbsync trusts it
    explicitly, as a user of a self-hosted server would."""
    r = subprocess.run([os.path.join(BIN, "ternconf"), "-c", suite.dir, "-x", "imapd_tls_cert_file"],
                       capture_output=True, text=True)
    return r.stdout.split("=", 1)[1].strip()


def test_mbsync(suite, work):
    send(suite, "from-server")
    check(wait_for(lambda: [p for p in maildir_new(suite, suite.user) if b"from-server" in read(p)], timeout=20),
          "the message is delivered into demo's Maildir")
    local = os.path.join(work, "local")
    os.makedirs(local)
    rc = os.path.join(work, "mbsyncrc")
    with open(rc, "w") as f:
        f.write(f"""IMAPAccount tern
Host 127.0.0.1
Port {suite.port(993)}
User {suite.user}
Pass {suite.password}
SSLType IMAPS
SystemCertificates no
CertificateFile {cert_file(suite)}

IMAPStore remote
Account tern

MaildirStore local
Path {local}/
Inbox {local}/INBOX
SubFolders Verbatim

Channel tern
Far :remote:
Near :local:
Patterns INBOX
Create Both
Expunge Both
SyncState *
""")

    def mbsync(what):
        r = subprocess.run(["mbsync", "-c", rc, "-V", "-a"], capture_output=True, text=True, timeout=120)
        if r.returncode != 0:
            fail(f"mbsync ({what}) failed: {r.returncode}\n{r.stdout[-3000:]}\n{r.stderr[-3000:]}")
        return r

    mbsync("first sync")
    got = [p for p in glob.glob(os.path.join(local, "INBOX", "*", "*")) if b"from-server" in read(p)]
    check(len(got) == 1, f"mbsync brought the server's message down: {got}")
    # Local -> server: a new message, and the first one marked seen.
    new_local = os.path.join(local, "INBOX", "new", f"{int(time.time())}.1_1.client,U=0:2,")
    with open(new_local, "wb") as f:
        f.write(b"From: demo@example.test\r\nSubject: from-client\r\nMessage-ID: <from-client@example.test>\r\n"
                b"\r\nwritten by the client\r\n")
    os.replace(new_local, new_local.replace(":2,", ""))
    seen = got[0]
    base = seen.split(":2,")[0]
    flags = seen.split(":2,")[1] if ":2," in seen else ""
    target = os.path.join(os.path.dirname(os.path.dirname(seen)), "cur",
                          os.path.basename(base) + ":2," + "".join(sorted(set(flags + "S"))))
    os.rename(seen, target)
    mbsync("second sync")
    up = [p for p in server_files(suite) if b"from-client" in read(p)]
    check(len(up) == 1, f"mbsync put the client's message on the server: {up}")
    down = [p for p in server_files(suite) if b"from-server" in read(p)]
    check(len(down) == 1 and ":2," in down[0] and "S" in down[0].split(":2,")[1],
          f"the seen flag reached the server's file name: {down}")
    # Server -> client: a flag set by another IMAP client (imaplib through
    # imap-login) reaches the local file name.
    im = imaplib.IMAP4_SSL("127.0.0.1", suite.port(993), ssl_context=client_context())
    im.login(suite.user, suite.password)
    im.select("INBOX")
    typ, data = im.search(None, "HEADER", "Subject", "from-client")
    check(typ == "OK" and len(data[0].split()) == 1, f"imaplib finds the client's message: {data}")
    check(im.store(data[0].split()[0], "+FLAGS", "(\\Flagged)")[0] == "OK", "imaplib flags it")
    im.logout()
    mbsync("third sync")
    flagged = [p for p in glob.glob(os.path.join(local, "INBOX", "*", "*")) if b"from-client" in read(p)]
    check(len(flagged) == 1 and ":2," in flagged[0] and "F" in flagged[0].split(":2,")[1],
          f"the flag set on the server reached the local file name: {flagged}")
    mbsync("fourth sync (nothing to do)")
    check(len([p for p in glob.glob(os.path.join(local, "INBOX", "*", "*"))]) == 2,
          "two messages on each side, no duplicates")
    check(len(server_files(suite)) >= 2, "and on the server")


def test_fetchmail(suite, work):
    send(suite, "for-fetchmail", "read by fetchmail\r\n")
    check(wait_for(lambda: [p for p in maildir_new(suite, suite.user) if b"for-fetchmail" in read(p)], timeout=20),
          "the message is delivered")
    out = os.path.join(work, "fetched")
    rc = os.path.join(work, "fetchmailrc")
    with open(rc, "w") as f:
        f.write(f"""set no syslog
poll 127.0.0.1 service {suite.port(993)} protocol IMAP
  user "{suite.user}" password "{suite.password}"
  ssl no sslcertck
  keep
  mda "/bin/sh -c 'cat >> {out}'"
""")
    os.chmod(rc, 0o600)
    env = dict(os.environ, HOME=work)

    def fetchmail():
        return subprocess.run(["fetchmail", "-f", rc, "--nodetach", "-v"], capture_output=True, text=True,
                              timeout=120, env=env)

    r = fetchmail()
    if r.returncode != 0:
        fail(f"fetchmail failed: {r.returncode}\n{r.stdout[-3000:]}\n{r.stderr[-3000:]}")
    with open(out, "rb") as f:
        text = f.read()
    check(b"Subject: for-fetchmail" in text and b"read by fetchmail" in text,
          f"fetchmail read the message: {text[-500:]!r}")
    # fetchmail finds new IMAP mail by the \Seen flag: a second run that
    # finds nothing shows the server kept the flag it set.
    r = fetchmail()
    check(r.returncode == 1, f"a second fetchmail finds no new mail (exit 1): {r.returncode}\n{r.stdout[-2000:]}")


def main():
    have = {c: shutil.which(c) is not None for c in ("mbsync", "fetchmail")}
    if not any(have.values()):
        print("neither mbsync (isync) nor fetchmail is installed: skipped")
        sys.exit(SKIP)
    suite = Suite()
    work = os.path.join(suite.tmp, "client")
    os.makedirs(work)
    try:
        suite.start()
        if have["mbsync"]:
            test_mbsync(suite, work)
        else:
            print("mbsync is not installed: skipped")
        if have["fetchmail"]:
            test_fetchmail(suite, work)
        else:
            print("fetchmail is not installed: skipped")
        suite.stop()
    finally:
        suite.cleanup()


if __name__ == "__main__":
    main()
