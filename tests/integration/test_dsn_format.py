"""The delivery status notifications common/queue/dsn.h queues are valid
RFC 3464 reports as a mail client sees them: tern-dsn-sample (tests/tools)
queues one of each kind into a throwaway queue directory, terncat reads each
back from its queue file, and Python's email package parses it: a
multipart/report of three parts, the delivery-status part parsed into its
per-message and per-recipient fields, the original (or its header) in the
third. Needs no running suite."""
import email
import email.policy
import os
import subprocess
import tempfile

from tern_harness import BIN, check

QUEUES = ["tmp", "maildrop", "incoming", "active", "deferred", "defer", "hold", "corrupt"]


def message_of(queue_dir, qid):
    """The message bytes of a queue file, as terncat -r prints them."""
    r = subprocess.run([os.path.join(BIN, "terncat"), "-r", "-f", os.path.join(queue_dir, "incoming", qid)],
                       capture_output=True, timeout=30)
    check(r.returncode == 0, f"terncat reads the DSN {qid}: {r.stderr.decode(errors='replace')}")
    out = r.stdout
    start = out.index(b"*** MESSAGE CONTENTS")
    start = out.index(b"\n", start) + 1
    end = out.index(b"*** MESSAGE FILE END")
    return out[start:end]


def envelope_of(queue_dir, qid):
    r = subprocess.run([os.path.join(BIN, "terncat"), "-e", "-f", os.path.join(queue_dir, "incoming", qid)],
                       capture_output=True, text=True, timeout=30)
    check(r.returncode == 0, f"terncat -e reads the DSN {qid}: {r.stderr}")
    return r.stdout


def status_blocks(part):
    """The delivery-status part as blocks of fields (per-message first).
    Python parses message/delivery-status into a list of header blocks."""
    blocks = part.get_payload()
    check(isinstance(blocks, list) and len(blocks) >= 2,
          f"the delivery-status part has a per-message block and recipient blocks: {blocks!r}")
    return blocks


def check_lines(raw, name, allow_8bit):
    for i, line in enumerate(raw.split(b"\r\n")[:-1]):
        check(len(line) <= 998, f"{name}: line {i} fits in 998 octets")
        check(b"\n" not in line and b"\r" not in line, f"{name}: line {i} has no bare CR or LF")
        if not allow_8bit:
            check(all(b < 0x80 for b in line), f"{name}: line {i} is 7bit: {line[:80]!r}")
    check(raw.endswith(b"\r\n"), f"{name}: ends in CRLF")


def parse(raw):
    return email.message_from_bytes(raw, policy=email.policy.compat32)


def common_checks(name, msg, raw, expect_to, subject, report_type="delivery-status"):
    check(msg.get_content_type() == "multipart/report", f"{name}: multipart/report ({msg.get_content_type()})")
    check(msg.get_param("report-type") == report_type, f"{name}: report-type={report_type}")
    check(msg["From"] == "MAILER-DAEMON@mail.example.com (Mail Delivery System)", f"{name}: From: {msg['From']}")
    check(msg["To"] == expect_to, f"{name}: To: {msg['To']!r}")
    check(msg["Subject"] == subject, f"{name}: Subject: {msg['Subject']!r}")
    check(msg["Auto-Submitted"] == "auto-replied", f"{name}: Auto-Submitted: auto-replied (RFC 3834)")
    check(msg["MIME-Version"] == "1.0", f"{name}: MIME-Version")
    check(msg["Date"] and email.utils.parsedate_to_datetime(msg["Date"]) is not None, f"{name}: a valid Date:")
    check(msg["Message-ID"] and msg["Message-ID"].startswith("<") and msg["Message-ID"].endswith("@mail.example.com>"),
          f"{name}: Message-ID: {msg['Message-ID']}")
    parts = msg.get_payload()
    check(isinstance(parts, list) and len(parts) == 3, f"{name}: three parts")
    check(not msg.defects, f"{name}: no MIME defects: {msg.defects}")
    return parts


def main():
    tool = os.path.join(BIN, "tern-dsn-sample")
    check(os.path.exists(tool), f"{tool} is built")
    with tempfile.TemporaryDirectory(prefix="tern-dsn.") as qdir:
        for q in QUEUES:
            os.mkdir(os.path.join(qdir, q), 0o700)
        r = subprocess.run([tool, qdir], capture_output=True, text=True, timeout=60)
        check(r.returncode == 0, f"tern-dsn-sample runs: {r.stderr}")
        cases = {}
        for line in r.stdout.splitlines():
            name, orig, dsn = line.split()
            cases[name] = (orig, dsn)
        check(sorted(cases) == ["delay", "double", "failure", "hdrs", "success", "utf8"], f"every case: {cases}")
        check(os.listdir(os.path.join(qdir, "tmp")) == [], "nothing left in tmp/")

        # Failure: two recipients, ORCPT, ENVID, the whole original returned.
        orig, qid = cases["failure"]
        env = envelope_of(qdir, qid)
        check("alice@example.org" in env and "notice" in env, f"failure: to the sender, marked a notice:\n{env}")
        raw = message_of(qdir, qid)
        check_lines(raw, "failure", False)
        msg = parse(raw)
        text, report, returned = common_checks("failure", msg, raw, "alice@example.org",
                                               "Undelivered Mail Returned to Sender")
        check(text.get_content_type() == "text/plain", "failure: part 1 is text/plain")
        body = text.get_payload(decode=True).decode("ascii")
        check("<bob@example.net>: host mx.example.net[192.0.2.7] said: 550 5.1.1 <bob@example.net>:"
              in body.replace("\r\n    ", " "), f"failure: the text names Bob and the remote reply:\n{body}")
        check("<carol@example.net>:" in body, "failure: the text names Carol")
        check(report.get_content_type() == "message/delivery-status", "failure: part 2 is message/delivery-status")
        blocks = status_blocks(report)
        per_msg = blocks[0]
        check(per_msg["Reporting-MTA"] == "dns; mail.example.com", f"failure: Reporting-MTA {per_msg['Reporting-MTA']}")
        check(per_msg["X-Tern-Queue-ID"] == orig, "failure: X-Tern-Queue-ID names the original")
        check(per_msg["Original-Envelope-Id"] == "QQ314159", "failure: Original-Envelope-Id")
        check(email.utils.parsedate_to_datetime(per_msg["Arrival-Date"]) is not None, "failure: Arrival-Date")
        check(len(blocks) == 3, f"failure: two recipient blocks ({len(blocks) - 1})")
        bob, carol = blocks[1], blocks[2]
        check(bob["Original-Recipient"] == "rfc822; Bob@Example.net", f"failure: ORCPT {bob['Original-Recipient']}")
        check(bob["Final-Recipient"] == "rfc822; bob@example.net", "failure: Final-Recipient")
        check(bob["Action"] == "failed" and bob["Status"] == "5.1.1", "failure: Action failed, Status 5.1.1")
        check(bob["Remote-MTA"] == "dns; mx.example.net", f"failure: Remote-MTA {bob['Remote-MTA']}")
        diag = " ".join(bob["Diagnostic-Code"].split())
        check(diag == "smtp; 550 5.1.1 <bob@example.net>: Recipient address rejected: User unknown",
              f"failure: Diagnostic-Code {diag!r}")
        check(email.utils.parsedate_to_datetime(bob["Last-Attempt-Date"]) is not None, "failure: Last-Attempt-Date")
        check(carol["Original-Recipient"] is None, "failure: no Original-Recipient without ORCPT")
        check(carol["Will-Retry-Until"] is None, "failure: no Will-Retry-Until")
        check(returned.get_content_type() == "message/rfc822", "failure: part 3 is message/rfc822")
        inner = returned.get_payload()[0]
        check(inner["Subject"] == "quarterly report" and "the report is attached." in inner.get_payload(),
              "failure: the whole original comes back")

        # Delay: from the defer log, with Will-Retry-Until.
        _, qid = cases["delay"]
        raw = message_of(qdir, qid)
        check_lines(raw, "delay", False)
        msg = parse(raw)
        text, report, returned = common_checks("delay", msg, raw, "alice@example.org",
                                               "Delayed Mail (still being retried)")
        body = text.get_payload(decode=True).decode("ascii")
        check("THIS IS A WARNING ONLY" in body, "delay: says it is a warning")
        check("Connection refused" in body, "delay: the text gives the reason from the defer log")
        rcpt = status_blocks(report)[1]
        check(rcpt["Action"] == "delayed" and rcpt["Status"] == "4.4.1", "delay: Action delayed, Status 4.4.1")
        check(" ".join(rcpt["Diagnostic-Code"].split()) ==
              "x-tern; connect to mx.example.net[192.0.2.7]:25: Connection refused",
              f"delay: Diagnostic-Code {rcpt['Diagnostic-Code']!r}")
        check(rcpt["Remote-MTA"] == "dns; mx.example.net", "delay: Remote-MTA from the relay")
        check(email.utils.parsedate_to_datetime(rcpt["Will-Retry-Until"]) is not None, "delay: Will-Retry-Until")
        check(returned.get_content_type() == "message/rfc822", "delay: the message comes back")

        # Success: header only.
        _, qid = cases["success"]
        raw = message_of(qdir, qid)
        check_lines(raw, "success", False)
        msg = parse(raw)
        _, report, returned = common_checks("success", msg, raw, "alice@example.org",
                                            "Successful Mail Delivery Report")
        rcpt = status_blocks(report)[1]
        check(rcpt["Action"] == "delivered" and rcpt["Status"] == "2.0.0", "success: Action delivered")
        check(returned.get_content_type() == "text/rfc822-headers", "success: the header only")
        hdrs = returned.get_payload()
        check("Subject: quarterly report" in hdrs and "attached" not in hdrs, "success: no body comes back")

        # RET=HDRS.
        _, qid = cases["hdrs"]
        raw = message_of(qdir, qid)
        check_lines(raw, "hdrs", False)
        msg = parse(raw)
        _, _, returned = common_checks("hdrs", msg, raw, "alice@example.org", "Undelivered Mail Returned to Sender")
        check(returned.get_content_type() == "text/rfc822-headers", "RET=HDRS: the header only")

        # SMTPUTF8: RFC 6533 global types, 8bit, queued with SMTPUTF8.
        _, qid = cases["utf8"]
        raw = message_of(qdir, qid)
        check_lines(raw, "utf8", True)
        env = envelope_of(qdir, qid)
        check("smtputf8: yes" in env and "body_type: 8BITMIME" in env, f"utf8: queued with SMTPUTF8 and BODY=8BITMIME:\n{env}")
        msg = email.message_from_bytes(raw, policy=email.policy.SMTPUTF8)
        parts = msg.get_payload()
        check(msg.get_content_type() == "multipart/report" and len(parts) == 3, "utf8: a three-part report")
        check(parts[1].get_content_type() == "message/global-delivery-status", "utf8: message/global-delivery-status")
        check(parts[2].get_content_type() == "message/global", "utf8: message/global")
        # Python parses message/global-delivery-status as a nested message
        # (the per-message fields as its header): check the raw text too.
        check("Final-Recipient: utf-8; b\u00f6b@example.net".encode() in raw, "utf8: the utf-8 address type (RFC 6533 3)")
        check(raw.decode("utf-8") is not None, "utf8: the report is valid UTF-8")

        # Double bounce: from <> to postmaster@myorigin.
        _, qid = cases["double"]
        env = envelope_of(qdir, qid)
        check("postmaster@example.com" in env, f"double: to the postmaster:\n{env}")
        check("double-bounce" in env, "double: marked, so its own failure goes nowhere")
        raw = message_of(qdir, qid)
        msg = parse(raw)
        common_checks("double", msg, raw, "postmaster@example.com", "Postmaster Copy: Undelivered Mail")
    print("ok")


if __name__ == "__main__":
    main()
