"""Local submission end to end: sendmail (by its full path) -> terndrop ->
maildrop/ -> pickup -> the cleanup step -> the queue. Each message appears in
mailq and terncat with the exact envelope, and with the bytes sent plus only
the headers the cleanup step adds (Received:, Message-ID:, Date:). Also the
options cron, mutt and PHP use, -bs, -bi, the limits, and a submission while
the suite is stopped."""
import os
import pwd
import re
import subprocess

from tern_harness import HOLD_MAIL, BIN, Suite, check, fail, wait_for

SENDMAIL = os.path.join(BIN, "sendmail")
EX_USAGE, EX_DATAERR = 64, 65
ID = r"[0-9A-Z]{17}"


def run(suite, args, data=b"", env=None):
    return subprocess.run([SENDMAIL, "-C", suite.dir, *args], input=data, capture_output=True, timeout=60,
                          env=env)


def tool(suite, name, *args):
    return subprocess.run([os.path.join(BIN, name), "-c", suite.dir, *args], capture_output=True, text=True,
                          timeout=60)


def parse_qfile(data):
    """(envelope lines, message bytes) of a queue file."""
    eoe = data.index(b"\nEOE\n") + len(b"\nEOE\n")
    tail = data.rindex(b"END ")
    size = int(data[tail + 4:-1])
    check(tail - eoe == size, "the queue file's trailer matches its message")
    return data[:eoe].decode().splitlines(), data[eoe:tail]


def picked_up(suite, marker, seen):
    """The queue ID of the next message pickup logged, once qmgr has it."""
    def find():
        for m in re.finditer(rf"({ID}): uid=(\d+) from=<([^>]*)>", suite.log_text()):
            if m.group(1) not in seen and m.group(1) in suite.queue_files("active"):
                return m.group(1)
        return None
    qid = wait_for(find, timeout=10)
    if not qid:
        fail(f"pickup logged no new message for {marker}: {suite.log_text()[-3000:]}")
    seen.add(qid)
    return qid


def queued(suite, qid):
    env, msg = parse_qfile(suite.queue_files("active")[qid])
    rcpts = [dict(f.split("=", 1) for f in l.split("\t")[1:]) for l in env if l.startswith("RCPT ")]
    records = {l.split(" ", 1)[0]: (l.split(" ", 1) + [""])[1] for l in env if not l.startswith("RCPT ")}
    return records, rcpts, msg


def check_added_headers(msg, qid, uid, original):
    """msg is Received: (two lines) + original's header + Message-ID: + Date: + the rest."""
    received = re.match(rb"Received: by mail\.example\.test \(Tern, from userid (\d+)\)\r\n\tid (" + ID.encode() +
                        rb"); [^\r\n]+\r\n", msg)
    check(received and received.group(1) == str(uid).encode() and received.group(2) == qid.encode(),
          f"the first header is pickup's Received: for local mail: {msg[:120]!r}")
    rest = msg[received.end():]
    head, sep, body = original.partition(b"\r\n\r\n")
    added = re.match(re.escape(head + b"\r\n") + rb"Message-ID: <\d{14}\." + qid.encode() +
                     rb"@mail\.example\.test>\r\nDate: [^\r\n]+\r\n\r\n", rest)
    check(added is not None, f"then the header as sent, then Message-ID: and Date: added: {rest[:400]!r}")
    check(rest[added.end():] == body, "then the body exactly as sent (with CRLF line ends)")


def main():
    suite = Suite({"queue_run_delay": "1h", "message_size_limit": "100000", **HOLD_MAIL})
    me = pwd.getpwuid(os.getuid()).pw_name
    uid = os.getuid()
    seen = set()
    try:
        suite.start()

        # cron's and mutt's way: -t, -i, LF line ends, Bcc.
        sent = (b"From: Alice <alice@example.org>\nTo: demo@example.test\nCc: Carol <demo+cc@example.test>\n"
                b"Bcc: postmaster@example.test\nSubject: minus t\n\nline one\n.\n..two dots\nlast line\n")
        r = run(suite, ["-t", "-i"], sent)
        check(r.returncode == 0, f"sendmail -t -i exits 0: {r.stderr}")
        qid = picked_up(suite, "-t", seen)
        check(f"{qid}: uid={uid} from=<{me}>" in suite.log_text(), "pickup logs ID: uid=N from=<login> as Postfix")
        records, rcpts, msg = queued(suite, qid)
        check(records["SENDER"] == f"{me}@mail.example.test", f"the sender is the login @myorigin: {records}")
        check(records.get("uid") == str(uid) and records.get("login") == me, "the queue file records uid and login")
        check([x["TO"] for x in rcpts] == ["demo@example.test", "demo+cc@example.test"],
              f"To, Cc and Bcc are the recipients (Bcc's postmaster expands to demo, a duplicate): {rcpts}")
        original = sent.replace(b"Bcc: postmaster@example.test\n", b"").replace(b"\n", b"\r\n")
        check_added_headers(msg, qid, uid, original)
        check(b"Bcc" not in msg, "Bcc: is gone from the message")
        q = tool(suite, "ternqueue", "-p")
        check(qid in q.stdout and "demo+cc@example.test" in q.stdout, "ternqueue -p lists it")
        c = tool(suite, "terncat", qid)
        check(c.returncode == 0 and "Subject: minus t" in c.stdout, "terncat prints it")
        m = subprocess.run([os.path.join(BIN, "mailq"), "-C", suite.dir], capture_output=True, text=True, timeout=60)
        check(m.returncode == 0 and qid in m.stdout, f"mailq (a link to sendmail) lists it too: {m.stderr}")

        # Arguments, -f, -F, and a lone dot ending the input (no -i).
        sent = b"Subject: arguments\n\nbody\n.\nnot part of the message\n"
        r = run(suite, ["-f", "alice@example.org", "-F", "Alice Example", "demo+x@example.test, root"], sent)
        check(r.returncode == 0, f"sendmail with -f, -F and an address list argument exits 0: {r.stderr}")
        qid = picked_up(suite, "-f", seen)
        records, rcpts, msg = queued(suite, qid)
        check(records["SENDER"] == "alice@example.org", "-f sets the envelope sender")
        check([x["TO"] for x in rcpts] == ["demo+x@example.test", "demo@example.test"] and
              rcpts[1].get("original") == "root@mail.example.test",
              f"root gets @myorigin and goes through alias_maps: {rcpts}")
        check_added_headers(msg, qid, uid,
                            b"Subject: arguments\r\nFrom: Alice Example <alice@example.org>\r\n\r\nbody\r\n")

        # DSN options.
        r = run(suite, ["-N", "success,delay", "-R", "hdrs", "-V", "ENV-42", "-odi", "-oem", "-B8BITMIME",
                        "demo@example.test"], b"Subject: dsn\n\nx\n")
        check(r.returncode == 0, f"-N, -R, -V and the ignored -odi -oem -B8BITMIME: exit 0: {r.stderr}")
        qid = picked_up(suite, "-N", seen)
        records, rcpts, _ = queued(suite, qid)
        check(records.get("RET") == "HDRS" and records.get("ENVID") == "ENV-42" and
              rcpts[0].get("NOTIFY") == "SUCCESS,DELAY", f"RET, ENVID and NOTIFY are in the envelope: {records} {rcpts}")

        # Body lines of any length, as Postfix's sendmail and smtpd's DATA take
        # them (cron output, generated HTML): stored intact, CR LF or LF.
        long_line = b"0123456789" * 1000 + b"\r.x"  # 10,003 bytes, a CR and a dot inside
        r = run(suite, ["-F", "Long", "demo@example.test"],
                b"Subject: long body line\n\n" + long_line + b"\r\n" + b"b" * 4096 + b"\nend\n")
        check(r.returncode == 0, f"sendmail takes body lines longer than line_length_limit: {r.stderr}")
        qid = picked_up(suite, "long body line", seen)
        _, _, msg = queued(suite, qid)
        check_added_headers(msg, qid, uid, b"Subject: long body line\r\nFrom: Long <" + me.encode() +
                            b"@mail.example.test>\r\n\r\n" + long_line + b"\r\n" + b"b" * 4096 + b"\r\nend\r\n")

        # -bs: SMTP on standard input and output.
        dialogue = (b"EHLO client.example\r\nMAIL FROM:<bs@example.org>\r\n"
                    b"RCPT TO:<demo@example.test> NOTIFY=NEVER\r\nDATA\r\n"
                    b"Subject: bs\r\n\r\n..leading dot\r\n.\r\nQUIT\r\n")
        r = run(suite, ["-bs"], dialogue)
        replies = r.stdout.decode().split("\r\n")
        codes = [l[:4] for l in replies if l and not l.startswith("250-")]
        check(r.returncode == 0 and replies[0].startswith("220 ") and
              codes == ["220 ", "250 ", "250 ", "250 ", "354 ", "250 ", "221 "] and
              "250 2.0.0 Ok: queued" in replies, f"sendmail -bs answers each command: {replies}")
        qid = picked_up(suite, "-bs", seen)
        records, rcpts, msg = queued(suite, qid)
        check(records["SENDER"] == "bs@example.org" and rcpts[0].get("NOTIFY") == "NEVER",
              "the -bs envelope comes from MAIL and RCPT")
        check_added_headers(msg, qid, uid, b"Subject: bs\r\n\r\n.leading dot\r\n")
        r = run(suite, ["-bs"], b"EHLO c\r\nMAIL FROM:<bs@example.org>\r\nRCPT TO:<demo@example.test>\r\nDATA\r\n"
                                b"Subject: bs long\r\n\r\n" + b"." + b"y" * 5000 + b"\r\n.\r\nQUIT\r\n")
        check(r.returncode == 0 and b"250 2.0.0 Ok: queued" in r.stdout, f"-bs takes a long DATA line: {r.stdout}")
        qid = picked_up(suite, "-bs long", seen)
        _, _, msg = queued(suite, qid)
        check_added_headers(msg, qid, uid, b"Subject: bs long\r\n\r\n" + b"y" * 5000 + b"\r\n")

        # What is refused, with sysexits codes and nothing queued.
        before = set(suite.queue_files("active"))
        r = run(suite, ["demo@example.test"], b"Subject: long\n" + b"X-Long: " + b"a" * 3000 + b"\n\nx\n")
        check(r.returncode == EX_DATAERR and b"line_length_limit" in r.stderr,
              f"a header line over line_length_limit: EX_DATAERR and a clear error: {r.returncode} {r.stderr}")
        r = run(suite, ["demo@example.test"], b"Subject: big\n\n" + (b"x" * 999 + b"\n") * 150)
        check(r.returncode == EX_DATAERR and b"message_size_limit" in r.stderr,
              f"a message over message_size_limit: EX_DATAERR: {r.returncode} {r.stderr}")
        r = run(suite, [], b"Subject: nobody\n\nx\n")
        check(r.returncode == EX_USAGE and b"no recipient" in r.stderr, f"no recipients: EX_USAGE: {r.stderr}")
        r = run(suite, ["-t"], b"Subject: nobody\n\nx\n")
        check(r.returncode == EX_USAGE, "-t with no recipient header: EX_USAGE")
        r = run(suite, ["-z"], b"")
        check(r.returncode == EX_USAGE, "an unknown option: EX_USAGE")
        check(not os.listdir(os.path.join(suite.queue, "maildrop")), "nothing was left in maildrop/")
        r = run(suite, ["-bs"], b"MAIL FROM:<a@example.org>\r\nRCPT TO:<demo@example.test>\r\nDATA\r\n" +
                b"X-Long: " + b"b" * 3000 + b"\r\n\r\nx\r\n.\r\nNOOP\r\nQUIT\r\n")
        check(b"552 5.3.4" in r.stdout and r.stdout.endswith(b"250 2.0.0 Ok\r\n221 2.0.0 Bye\r\n"),
              f"-bs: an over-long header line in DATA gets 552 and the dialogue goes on: {r.stdout[-200:]!r}")
        wait_for(lambda: False, timeout=0.5)
        check(set(suite.queue_files("active")) == before, "none of the refused messages was queued")

        # -bi: newaliases builds the alias tables.
        with open(os.path.join(suite.dir, "aliases"), "a") as f:
            f.write("helpdesk: demo+help@example.test\nloopa: loopb\nloopb: loopa\n")
        r = run(suite, ["-bi"])
        check(r.returncode == 0, f"sendmail -bi exits 0: {r.stderr}")
        q = tool(suite, "ternmap", "-q", "helpdesk", "lmdb:" + os.path.join(suite.dir, "aliases"))
        check(q.stdout.strip() == "demo+help@example.test", f"the rebuilt table has the new alias: {q.stdout}")
        r = subprocess.run([os.path.join(BIN, "newaliases"), "-C", suite.dir], capture_output=True, timeout=60)
        check(r.returncode == 0, "newaliases (a link to sendmail) exits 0")
        # pickup restarts for the rebuilt table and expands with the new version.
        check(wait_for(lambda: re.search(r"tern/pickup\[\d+\]: \S*aliases.lmdb changed", suite.log_text()),
                       timeout=10), "pickup notices the rebuilt alias table and makes way for a fresh process")
        r = run(suite, ["helpdesk"], b"Subject: help\n\nx\n")
        check(r.returncode == 0, f"sendmail to the new alias exits 0: {r.stderr}")
        qid = picked_up(suite, "helpdesk", seen)
        records, rcpts, _ = queued(suite, qid)
        check(rcpts[0]["TO"] == "demo+help@example.test", f"the new alias is used: {rcpts}")

        # A recipient in an alias loop is bounced to the sender; the other
        # gets the message. A leading mbox "From " line is dropped.
        r = run(suite, ["-F", "Loop Test", "loopa, helpdesk"], b"From someone@example.org Tue Nov 24 01:00:00 2026\nSubject: loop\n\nx\n")
        check(r.returncode == 0, f"sendmail to an alias loop and a good alias exits 0: {r.stderr}")
        qid = picked_up(suite, "loop", seen)
        records, rcpts, msg = queued(suite, qid)
        check([x["TO"] for x in rcpts] == ["demo+help@example.test"], f"only the good recipient is queued: {rcpts}")
        check_added_headers(msg, qid, uid, b"Subject: loop\r\nFrom: Loop Test <" + me.encode() +
                            b"@mail.example.test>\r\n\r\nx\r\n")
        # pickup queues the message first, then the notice: wait for both lines.
        def notice_logged():
            log = suite.log_text()
            bounced = re.search(rf"({ID}): to=<loopa@mail\.example\.test>, relay=none, delay=0, dsn=5\.4\.6, "
                                rf"status=bounced \(alias expansion loop", log)
            return bounced and re.search(rf"{bounced.group(1)}: sender non-delivery notification: ({ID})", log)
        told = wait_for(notice_logged, timeout=10)
        check(bool(told), f"pickup logs the bounced recipient and the notice: {suite.log_text()[-2000:]}")
        notice = told.group(1)
        check(wait_for(lambda: notice in suite.queue_files("active"), timeout=10), "qmgr takes the notice in")
        records, rcpts, msg = queued(suite, notice)
        check(records["SENDER"] == "" and b"Final-Recipient: rfc822; loopa@mail.example.test\r\n" in msg and
              b"Status: 5.4.6\r\n" in msg, f"the notice, from <>, reports the loop: {records} {msg[:600]!r}")
        check(not os.listdir(os.path.join(suite.queue, "corrupt")), "nothing went to corrupt/")

        # While the suite is stopped the message waits in maildrop/.
        suite.stop()
        r = run(suite, ["-t"], b"To: demo@example.test\nSubject: while stopped\n\nx\n")
        check(r.returncode == 0, f"sendmail works while the daemons are stopped: {r.stderr}")
        waiting = os.listdir(os.path.join(suite.queue, "maildrop"))
        check(len(waiting) == 1 and re.fullmatch(ID, waiting[0]), f"the message waits in maildrop/: {waiting}")
        suite.start()
        qid = picked_up(suite, "after start", seen)
        _, _, msg = queued(suite, qid)
        check(b"Subject: while stopped" in msg and not os.listdir(os.path.join(suite.queue, "maildrop")),
              "pickup queues it after the start and maildrop/ is empty")
        suite.stop()
        check(not re.search(r"tern/pickup\[\d+\]: (panic|fatal):", suite.log_text()),
              "pickup neither panicked nor failed, through a restart for a new table and two stops")
    finally:
        suite.cleanup()


if __name__ == "__main__":
    main()
