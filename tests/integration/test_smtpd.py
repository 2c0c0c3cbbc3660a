"""smtpd against real clients: a message over SMTP lands durably in the queue
with the exact envelope and bytes; relay attempts, limits and hostile input get
their exact replies and the server answers the next command; a killed process
tree loses nothing acknowledged; a failing fsync gives 451 4.3.0, never 250."""
import os
import signal
import smtplib
import socket
import subprocess
import time

from smtp_client import Raw, expect
from tern_harness import HOLD_MAIL, Suite, check, fail, pid_alive, wait_for


def test_accept_and_queue(suite):
    port = suite.port(25)
    msg = b"From: alice@example.org\r\nTo: demo@example.test\r\nSubject: hello\r\n\r\nbody line 1\r\n.leading dot\r\n"
    s = smtplib.SMTP("127.0.0.1", port, timeout=10)
    code, caps = s.ehlo("client.example.org")
    check(code == 250 and b"PIPELINING" in caps and b"ENHANCEDSTATUSCODES" in caps and b"SIZE 100000" in caps,
          f"EHLO lists the extensions: {caps!r}")
    check(s.mail("alice@example.org", ["BODY=8BITMIME"])[0] == 250, "MAIL with BODY=8BITMIME")
    r = s.rcpt("demo@example.test", ["NOTIFY=SUCCESS,FAILURE", "ORCPT=rfc822;demo+2Bx@example.test"])
    check(r[0] == 250, f"RCPT with NOTIFY and an xtext ORCPT: {r}")
    code, text = s.data(msg)
    check(code == 250 and text.startswith(b"2.0.0 Ok: queued as "), f"DATA is answered 250 with the queue ID: {text!r}")
    qid = text.split()[-1].decode()
    s.quit()
    files = suite.queue_files()
    check(qid in files, f"the message is in incoming/ as {qid}")
    data = files[qid]
    head, rest = data.split(b"EOE\n", 1)
    check(b"SENDER alice@example.org\n" in head, "the envelope holds the sender")
    check(b"BODY 8BITMIME\n" in head, "and BODY=8BITMIME")
    check(b"TO=demo@example.test" in head and b"NOTIFY=SUCCESS,FAILURE" in head and b"ORCPT=rfc822;demo+x@example.test" in head,
          f"the recipient with its NOTIFY and its ORCPT decoded: {head!r}")
    check(b"client_address 127.0.0.1\n" in head and b"helo_name client.example.org\n" in head,
          "the client's address and HELO name")
    body, end = rest.rsplit(b"END ", 1)
    check(end == f"{len(body)}\n".encode(), "the trailer holds the message's length")
    check(body.startswith(b"Received: from client.example.org (unknown [127.0.0.1])\r\n\tby mail.example.test (Tern) with ESMTP id " + qid.encode()),
          f"a Received: header comes first: {body[:120]!r}")
    received_end = body.index(b"\r\nFrom: ") + 2
    check(body[received_end:] == msg.replace(b"\r\n.leading", b"\r\n.leading"),
          "after it, exactly the bytes that were sent (dot-unstuffed, nothing else added)")
    # Log lines reach the file through master, a moment later.
    check(wait_for(lambda: f"{qid}: from=<alice@example.org>, size=" in suite.log_text()),
          "the log line starts with the queue ID")
    return qid


def test_relay_and_tricks(suite):
    c = Raw(suite.port(25))
    expect(c.cmd("EHLO client.example.org"), 250, "", "EHLO")
    expect(c.cmd("MAIL FROM:<alice@example.org>"), 250, "2.1.0", "MAIL")
    for rcpt in ["<bob@elsewhere.org>", "<bob%elsewhere.org@example.test>", "<@example.test:bob@elsewhere.org>",
                 '<"bob@elsewhere.org"@example.test>', "<elsewhere.org!bob@example.test>",
                 "<bob@[192.0.2.1]>", "<bob@elsewhere.org.>"]:
        r = c.cmd(f"RCPT TO:{rcpt}")
        check(r[0] in (554, 501) and (r[1].startswith("5.7.1") or r[1].startswith("5.1.3")),
              f"relay attempt {rcpt} is refused: {r}")
    expect(c.cmd("NOOP"), 250, "2.0.0", "the session goes on after the refusals")
    expect(c.cmd("RCPT TO:<demo@example.test>"), 250, "2.1.5", "a local recipient is accepted")
    expect(c.cmd("RSET"), 250, "2.0.0", "RSET")
    expect(c.cmd("QUIT"), 221, "2.0.0", "QUIT")
    c.close()


def test_recipient_check(suite):
    c = Raw(suite.port(25))
    expect(c.cmd("EHLO client.example.org"), 250, "", "EHLO")
    expect(c.cmd("MAIL FROM:<alice@example.org>"), 250, "2.1.0", "MAIL")
    for rcpt, code, enhanced, what in [
            ("<nosuchuser@example.test>", 550, "5.1.1", "an unknown user of a hosted domain is refused at RCPT"),
            ("<demo@example.test>", 250, "2.1.5", "the demo user exists (asked of authd's userdb)"),
            ("<Demo+news@Example.TEST>", 250, "2.1.5", "user+extension is the user; the domain's case does not matter"),
            ("<postmaster@example.test>", 250, "2.1.5", "postmaster@ of a hosted domain always exists"),
            ("<abuse@example.test>", 250, "2.1.5", "abuse@ too"),
            ("<postmaster>", 250, "2.1.5", "the bare <postmaster> (RFC 5321 4.5.1)"),
            ("<root@mail.example.test>", 250, "2.1.5", "root@ of a mydestination name exists through alias_maps"),
            ("<nobody-here@mail.example.test>", 550, "5.1.1", "other local parts of mydestination names do not")]:
        expect(c.cmd(f"RCPT TO:{rcpt}"), code, enhanced, f"{what} ({rcpt})")
    expect(c.cmd("QUIT"), 221, "2.0.0", "QUIT")
    c.close()
    # Postfix's shape, which fail2ban's postfix filter and pflogsumm match.
    line = ("NOQUEUE: reject: RCPT from unknown[127.0.0.1]: 550 5.1.1 <nosuchuser@example.test>: Recipient address "
            "rejected: User unknown in virtual mailbox table; from=<alice@example.org> to=<nosuchuser@example.test> "
            "proto=ESMTP helo=<client.example.org>")
    check(wait_for(lambda: line in suite.log_text()), "the unknown user's refusal is logged as Postfix logs it")


def test_hostile_input(suite):
    c = Raw(suite.port(25))
    expect(c.cmd("EHLO x"), 250, "", "EHLO")
    expect(c.cmd("MAIL FROM:<a@example.org> SIZE=200000"), 552, "5.3.4", "a SIZE over message_size_limit")
    expect(c.cmd("X" * 5000), 500, "5.5.2", "an over-long line")
    expect(c.cmd("NO\x00OP"), 500, "5.5.2", "a NUL byte in a command")
    expect(c.cmd("MAIL FROM:a@example.org"), 501, "5.1.7", "a path without angle brackets")
    expect(c.cmd("EHLO " + "h" * 256), 501, "5.5.4", "an EHLO name over 255 octets (Received: stays within 998)")
    expect(c.cmd("EHLO a\tb"), 501, "5.5.4", "an EHLO name with a tab in it")
    expect(c.cmd("EHLO " + "h" * 255), 250, "", "an EHLO name of 255 octets")
    srs = "SRS0=x7Qh=TT=" + "long-sender-domain.example.org=" + "l" * 60 + "@forwarder.example.net"
    expect(c.cmd(f"MAIL FROM:<{srs}>"), 250, "2.1.0", "an SRS sender with a local part past 64 octets")
    expect(c.cmd("RSET"), 250, "2.0.0", "RSET")
    expect(c.cmd("MAIL FROM:<" + "l" * 513 + "@example.org>"), 501, "5.1.7", "a local part past 512 octets")
    expect(c.cmd("NOOP"), 250, "2.0.0", "the session survives all of that")
    # Oversized content: refused at its end, the next transaction works.
    expect(c.cmd("MAIL FROM:<a@example.org>"), 250, "2.1.0", "MAIL")
    expect(c.cmd("RCPT TO:<demo@example.test>"), 250, "2.1.5", "RCPT")
    expect(c.cmd("DATA"), 354, "", "DATA")
    c.send(b"Subject: big\r\n\r\n" + (b"x" * 998 + b"\r\n") * 150 + b".\r\n")
    expect(c.reply(), 552, "5.3.4", "a message over message_size_limit is refused at its end")
    # Bare LF: only CRLF.CRLF ends the data; the smuggled commands are data.
    expect(c.cmd("MAIL FROM:<a@example.org>"), 250, "2.1.0", "MAIL after a refused message")
    expect(c.cmd("RCPT TO:<demo@example.test>"), 250, "2.1.5", "RCPT")
    expect(c.cmd("DATA"), 354, "", "DATA")
    before = set(suite.queue_files())
    c.send(b"Subject: smuggle\r\n\r\nhi\n.\r\nMAIL FROM:<evil@example.org>\r\nRCPT TO:<demo@example.test>\r\nDATA\r\nsmuggled\r\n.\r\n")
    expect(c.reply(), 550, "5.5.2", "a message with a bare LF is refused once the real end arrives")
    expect(c.cmd("NOOP"), 250, "2.0.0", "and the smuggled commands were never run")
    check(set(suite.queue_files()) == before, "nothing was queued from the smuggling attempt")
    c.close()


def test_pipelined_recipient_limit(suite):
    c = Raw(suite.port(25))
    expect(c.cmd("EHLO x"), 250, "", "EHLO")
    lines = "MAIL FROM:<a@example.org>\r\n" + "".join(f"RCPT TO:<demo+{i}@example.test>\r\n" for i in range(1100))
    c.send(lines + "RSET\r\n")
    expect(c.reply(), 250, "2.1.0", "pipelined MAIL")
    codes = [c.reply()[0] for _ in range(1100)]
    check(codes[:1000] == [250] * 1000 and codes[1000:] == [452] * 100,
          f"1,100 pipelined RCPTs: the first 1,000 accepted, the rest 452 (got {codes.count(250)} and {codes.count(452)})")
    expect(c.reply(), 250, "2.0.0", "RSET after them")
    c.close()


def test_timeout(suite):
    c = Raw(suite.port(25))
    start = time.monotonic()
    r = c.reply()
    check(r[0] == 421 and r[1].startswith("4.4.2") and time.monotonic() - start < 10,
          f"a silent client is dropped after smtpd_timeout with 421 4.4.2: {r}")
    try:
        c.line()
        fail("the connection stays open")
    except (EOFError, OSError):
        check(True, "and the connection is closed")
    c.close()


def send_one(port, subject):
    s = smtplib.SMTP("127.0.0.1", port, timeout=10)
    try:
        s.sendmail("alice@example.org", ["demo@example.test"], f"Subject: {subject}\r\n\r\nx\r\n")
        return None
    except smtplib.SMTPDataError as e:
        return e
    finally:
        try:
            s.quit()
        except Exception:
            pass


def process_tree(root):
    out = subprocess.run(["ps", "-e", "-o", "pid=,ppid="], capture_output=True, text=True).stdout.split("\n")
    children = {}
    for line in out:
        if line.strip():
            pid, ppid = map(int, line.split())
            children.setdefault(ppid, []).append(pid)
    tree, todo = [], [root]
    while todo:
        p = todo.pop()
        tree.append(p)
        todo += children.get(p, [])
    return tree


def test_kill_loses_nothing(suite):
    qid = None
    s = smtplib.SMTP("127.0.0.1", suite.port(25), timeout=10)
    s.ehlo("x")
    s.mail("alice@example.org")
    s.rcpt("demo@example.test")
    code, text = s.data(b"Subject: durable\r\n\r\nkept\r\n")
    qid = text.split()[-1].decode()
    before = suite.queue_files()[qid]
    tree = process_tree(suite.master_pid)
    for p in tree:
        try:
            os.kill(p, signal.SIGKILL)
        except ProcessLookupError:
            pass
    check(wait_for(lambda: not any(pid_alive(p) for p in tree)), f"the whole process tree ({len(tree)}) is killed")
    suite.master_pid = None
    suite.start()
    check(suite.queue_files().get(qid) == before, "after a restart the acknowledged queue file is byte-identical")


def test_fsync_failure(suite_factory):
    suite = suite_factory({"message_size_limit": "100000", "smtpd_timeout": "2s"})
    try:
        suite.start({"TERN_FAULTS": "fsync:5:1"})
        e = send_one(suite.port(25), "first")
        check(e is not None and e.smtp_code == 451 and e.smtp_error.startswith(b"4.3.0"),
              f"a failing fsync gives 451 4.3.0, never 250: {e}")
        check(not suite.queue_files(), "and nothing is left in incoming/")
        check(not suite.queue_files("tmp"), "nor in tmp/")
        check(send_one(suite.port(25), "second") is None, "the next message (no fault left) is accepted")
    finally:
        suite.stop()
        suite.cleanup()


def main():
    settings = {"message_size_limit": "100000", "smtpd_timeout": "2s", **HOLD_MAIL}
    suite = Suite(settings)
    try:
        suite.start()
        test_accept_and_queue(suite)
        test_relay_and_tricks(suite)
        test_recipient_check(suite)
        test_hostile_input(suite)
        test_pipelined_recipient_limit(suite)
        test_timeout(suite)
        test_kill_loses_nothing(suite)
        suite.stop()
    finally:
        suite.cleanup()
    # Only builds with TERN_FAULT_INJECTION can fail an fsync on purpose.
    if os.environ.get("TERN_FAULT_BUILD", "1") == "1":
        test_fsync_failure(lambda s: Suite({**s, **HOLD_MAIL}))
    else:
        print("skipped: the fsync-failure check needs a TERN_FAULT_INJECTION build")


if __name__ == "__main__":
    main()
