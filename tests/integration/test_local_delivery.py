"""Local delivery end to end: SMTP in (smtplib) -> smtpd -> qmgr -> smtp-client
(LMTP) -> lmtp-deliver -> Maildir. Aliases one-to-one, one-to-many, to an
external address (deferred with a clear reason) and an alias loop;
plus-addressing; duplicate recipients delivered once; over quota deferred,
then bounced when the message expires; the bounce lands in the sender's
Maildir as a valid RFC 3464 report (parsed with Python's email package);
a bounce that cannot be delivered goes to postmaster."""
import email
import email.policy
import os
import re
import smtplib
import subprocess

from tern_harness import BIN, Suite, check, fail, maildir_new, wait_for
from tern_harness import read_bytes as read


def adm(suite, *args):
    return subprocess.run([os.path.join(BIN, "ternadm"), "-c", suite.dir, *args], capture_output=True, text=True,
                          timeout=60)


def send(suite, sender, rcpts, subject, body="hello\r\n"):
    s = smtplib.SMTP("127.0.0.1", suite.port(25), timeout=20)
    s.sendmail(sender, rcpts, f"From: <{sender}>\r\nSubject: {subject}\r\n\r\n{body}".encode())
    s.quit()


def files_with(suite, user, subject):
    return [p for p in maildir_new(suite, user) if f"Subject: {subject}".encode() in read(p)]


def main():
    suite = Suite({"mynetworks": "127.0.0.0/8", "queue_run_delay": "1s", "minimal_backoff_time": "1s",
                   "maximal_backoff_time": "2s", "maximal_queue_lifetime": "10s", "transport_retry_time": "1s"})
    try:
        valias = os.path.join(suite.dir, "virtual")
        with open(valias, "w") as f:
            f.write("one@example.test demo@example.test\n"
                    "many@example.test demo@example.test, bob@example.test\n"
                    "ext@example.test someone@remote.test\n"
                    "loop1@example.test loop2@example.test\n"
                    "loop2@example.test loop1@example.test\n")
        tmap = os.path.join(suite.dir, "transport")
        with open(tmap, "w") as f:
            f.write("err.example.test error:5.1.1 this domain takes no mail\n")
        suite.configure({"virtual_alias_maps": "texthash:" + valias, "transport_maps": "texthash:" + tmap})
        for user, extra in (("bob@example.test", []), ("small@example.test", ["-q", "*:storage=2K"])):
            r = adm(suite, "user", "add", user, "-p", "Secret-passw0rd", *extra)
            if r.returncode != 0:
                fail(f"ternadm user add {user}: {r.stderr}")
        suite.start()
        demo = suite.user

        send(suite, "alice@example.org", [demo], "plain")
        check(wait_for(lambda: files_with(suite, demo, "plain"), timeout=15), "SMTP in -> demo's Maildir new/")
        m = wait_for(lambda: re.search(r"(\w{17}): to=<demo@example\.test>, relay=(\S+), delay=[0-9.]+, "
                                       r"delays=[0-9./]+, dsn=2\.\d\.\d, status=sent \(", suite.log_text()))
        check(m, "qmgr logs status=sent in Postfix's shape")
        check(wait_for(lambda: f"{m.group(1)}: removed" in suite.log_text()), "and removes the message")
        msg = read(files_with(suite, demo, "plain")[0])
        check(msg.startswith(b"Return-Path: <alice@example.org>") and b"Delivered-To: demo@example.test" in msg,
              "with Return-Path: and Delivered-To:")

        send(suite, "alice@example.org", ["demo+news@example.test"], "plus")
        check(wait_for(lambda: files_with(suite, demo, "plus"), timeout=15), "user+tag@ reaches user's INBOX")

        send(suite, "alice@example.org", ["one@example.test"], "one-to-one")
        check(wait_for(lambda: files_with(suite, demo, "one-to-one"), timeout=15), "one-to-one alias delivered")
        check(wait_for(lambda: "to=<demo@example.test>, orig_to=<one@example.test>" in suite.log_text()),
              "the log names the original recipient (orig_to=)")

        send(suite, "alice@example.org", ["many@example.test"], "one-to-many")
        check(wait_for(lambda: files_with(suite, demo, "one-to-many") and files_with(suite, "bob@example.test", "one-to-many"),
                       timeout=15), "one-to-many alias: both get it")

        send(suite, "alice@example.org", [demo, "one@example.test", demo], "dupes")
        check(wait_for(lambda: files_with(suite, demo, "dupes"), timeout=15), "duplicates delivered")
        wait_for(lambda: False, timeout=1)
        check(len(files_with(suite, demo, "dupes")) == 1, "exactly once")

        send(suite, "alice@example.org", ["ext@example.test"], "external")
        check(wait_for(lambda: re.search(r"to=<someone@remote\.test>, orig_to=<ext@example\.test>, "
                                         r".*status=deferred \(.+\)", suite.log_text()), timeout=15),
              "an alias to an external address goes to the SMTP path (deferred here: no DNS server)")

        try:
            send(suite, "alice@example.org", ["loop1@example.test"], "alias loop")
            check(wait_for(lambda: re.search(r"status=bounced|loop", suite.log_text()), timeout=15),
                  "an alias loop is refused or bounced")
        except smtplib.SMTPException as e:
            check("loop" in str(e).lower() or "5.4.6" in str(e) or "550" in str(e), f"an alias loop is refused at RCPT: {e}")

        # Over quota: the first fits, the second is deferred (452 4.2.2), then
        # expires (maximal_queue_lifetime 10s) into a bounce to the sender,
        # demo, as an RFC 3464 report.
        send(suite, demo, ["small@example.test"], "fills", body="x" * 1200 + "\r\n")
        check(wait_for(lambda: files_with(suite, "small@example.test", "fills"), timeout=15), "the first message fits")
        send(suite, demo, ["small@example.test"], "overflow", body="y" * 1200 + "\r\n")
        check(wait_for(lambda: re.search(r"to=<small@example\.test>.*dsn=4\.2\.2, status=deferred", suite.log_text()),
                       timeout=15), "the next one is deferred over quota (4.2.2)")
        check(wait_for(lambda: "status=expired, returned to sender" in suite.log_text(), timeout=30),
              "and returned to the sender when it expires")
        bounce = wait_for(lambda: [p for p in maildir_new(suite, demo) if b"multipart/report" in read(p)], timeout=20)
        check(bounce, "the bounce lands in the sender's Maildir")
        rep = email.message_from_bytes(read(bounce[0]), policy=email.policy.default)
        check(rep.get_content_type() == "multipart/report" and rep.get_param("report-type") == "delivery-status",
              "multipart/report; report-type=delivery-status (RFC 6522)")
        parts = list(rep.iter_parts())
        check(len(parts) >= 2 and parts[1].get_content_type() == "message/delivery-status", "with a delivery-status part")
        fields = parts[1].as_bytes().decode(errors="replace")
        check(re.search(r"Final-Recipient: rfc822; ?small@example\.test", fields, re.I) and
              re.search(r"Action: failed", fields) and re.search(r"Status: 5\.2\.2", fields),
              f"Final-Recipient, Action: failed, Status: 5.2.2 (RFC 3464 2.3): {fields[:600]}")
        check(rep["From"] and "MAILER-DAEMON" in rep["From"].upper(), "from MAILER-DAEMON")

        # A bounce that cannot be delivered goes to postmaster (demo, by alias).
        before = len([p for p in maildir_new(suite, demo) if b"multipart/report" in read(p)])
        send(suite, "nobody@example.test", ["gone@err.example.test"], "double")
        check(wait_for(lambda: len([p for p in maildir_new(suite, demo) if b"multipart/report" in read(p)]) > before,
                       timeout=40), "a bounce to an unknown local sender ends as a notice to postmaster")
        suite.stop()
        check("panic:" not in suite.log_text(), "no daemon panicked")
    finally:
        suite.cleanup()


if __name__ == "__main__":
    main()
