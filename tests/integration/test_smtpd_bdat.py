"""smtpd's CHUNKING (RFC 3030) over raw sockets, where the exact octets matter:
one chunk and many pipelined ones (a CRLF and a header field cut between two
chunks) land byte for byte in the queue (as terncat shows it); BDAT 0 LAST;
message_size_limit over the running total (552 5.3.4, the octets read, the
connection usable after); refused chunks are read to their end, so what they
carry is never taken as a command; DATA or RCPT after BDAT is 503; syntax
errors are 501 5.5.4; bare LF becomes CRLF, a bare CR is refused by default;
over STARTTLS with AUTH on 587 and over implicit TLS on 465. Then VRFY: a
neutral 252 by default, and RCPT's own answer with disable_vrfy_command = no;
with smtpd_forbid_bare_newline = normalize a bare CR is kept; a stalled chunk
times out (421 4.4.2); a failing fsync gives BDAT LAST 451 4.3.0, never 250."""
import base64
import os
import re
import subprocess

from smtp_client import Raw, expect
from tern_harness import HOLD_MAIL, BIN, Suite, check, fail, wait_for

LIMIT = 100000


def terncat_message(suite, qid):
    """The message as stored (CRLF line ends), cut out of terncat -r's output."""
    def run():
        return subprocess.run([os.path.join(BIN, "terncat"), "-c", suite.dir, "-r", qid],
                              capture_output=True, timeout=60)
    if not wait_for(lambda: run().returncode == 0, timeout=5):
        r = run()
        fail(f"terncat {qid}: {r.returncode} {r.stderr!r}")
    out = run().stdout
    m = re.search(rb"\*\*\* MESSAGE CONTENTS \S+ \*\*\*\n(.*)\*\*\* MESSAGE FILE END ", out, re.S)
    check(m is not None, f"terncat prints the message: {out[:200]!r}")
    return m.group(1)


def after_received(stored):
    """The stored message without the Received: field smtpd put first."""
    check(stored.startswith(b"Received: "), f"Received: comes first: {stored[:80]!r}")
    lines = stored.split(b"\r\n")
    i = 1
    while lines[i].startswith((b"\t", b" ")):
        i += 1
    return b"\r\n".join(lines[i:]), b"\r\n".join(lines[:i])


def open_transaction(port, rcpt="demo@example.test", sender="alice@example.org"):
    c = Raw(port)
    caps = c.ehlo()
    check("CHUNKING" in caps, f"EHLO offers CHUNKING: {caps}")
    check("BINARYMIME" not in caps, "but not BINARYMIME")
    expect(c.cmd(f"MAIL FROM:<{sender}>"), 250, "2.1.0", "MAIL")
    expect(c.cmd(f"RCPT TO:<{rcpt}>"), 250, "2.1.5", "RCPT")
    return c


def queued_id(reply, total, what):
    code, text = reply
    m = re.fullmatch(r"2\.0\.0 Ok: (\d+) bytes queued as (\S+)", text)
    check(code == 250 and m is not None and int(m.group(1)) == total, f"{what}: {code} {text}")
    return m.group(2)


def test_single_chunk(suite):
    msg = b"From: alice@example.org\r\nTo: demo@example.test\r\nSubject: one chunk\r\n\r\nbody\r\n.\r\n..dots mean nothing\r\n"
    c = open_transaction(suite.port(25))
    c.send(b"BDAT %d LAST\r\n" % len(msg) + msg)
    qid = queued_id(c.reply(), len(msg), "BDAT LAST is answered with the octets and the queue ID")
    expect(c.cmd("NOOP"), 250, "2.0.0", "the next command")
    expect(c.cmd("QUIT"), 221, "2.0.0", "QUIT")
    c.close()
    body, received = after_received(terncat_message(suite, qid))
    check(body == msg, f"the message is stored exactly as sent: {body!r}")
    check(b"with ESMTP id " + qid.encode() in received, f"Received: says ESMTP, as for DATA: {received!r}")
    check(wait_for(lambda: f"{qid}: from=<alice@example.org>, size=" in suite.log_text()), "the queued line is logged")


def test_pipelined_chunks(suite):
    msg = (b"From: alice@example.org\r\nTo: demo@example.test\r\nSubject: several chunks\r\n\r\n"
           b"line one\r\nline two\r\n" + b"x" * 3000 + b"\r\n")
    cut_header = msg.index(b"Subj") + 4          # "Subj" | "ect: ..."
    cut_crlf = msg.index(b"line one\r\n") + 9    # "line one\r" | "\n"
    pieces = [msg[:cut_header], msg[cut_header:cut_crlf], msg[cut_crlf:]]
    check(pieces[1].endswith(b"\r") and pieces[2].startswith(b"\n"), "a CRLF is cut between two chunks")
    c = open_transaction(suite.port(25))
    burst = b"".join(b"BDAT %d\r\n" % len(p) + p for p in pieces) + b"BDAT 0 LAST\r\n"
    c.send(burst)  # all at once: PIPELINING (RFC 2920, RFC 3030 4.1)
    for p in pieces:
        expect(c.reply(), 250, f"2.0.0 Ok: {len(p)} bytes", f"a chunk of {len(p)} octets")
    qid = queued_id(c.reply(), len(msg), "BDAT 0 LAST ends the message")
    expect(c.cmd("QUIT"), 221, "2.0.0", "QUIT")
    c.close()
    body, _ = after_received(terncat_message(suite, qid))
    check(body == msg, "the chunks join into the message, byte for byte")

    # The smallest message: one empty LAST chunk.
    c = open_transaction(suite.port(25))
    qid = queued_id(c.cmd("BDAT 0 LAST"), 0, "BDAT 0 LAST alone")
    c.close()


def test_eight_bit_and_newlines(suite):
    octets = bytes(b for b in range(256) if b not in (10, 13))
    msg = (b"From: alice@example.org\r\nTo: demo@example.test\r\nSubject: octets\r\n\r\n" +
           b"\r\n".join(octets[i:i + 50] for i in range(0, len(octets), 50)) + b"\r\n")
    c = open_transaction(suite.port(25))
    c.send(b"BDAT 100\r\n" + msg[:100] + b"BDAT %d LAST\r\n" % (len(msg) - 100) + msg[100:])
    expect(c.reply(), 250, "2.0.0 Ok: 100 bytes", "the first chunk")
    qid = queued_id(c.reply(), len(msg), "8-bit content, NUL included")
    body, _ = after_received(terncat_message(suite, qid))
    check(body == msg, "every octet but CR and LF survives, NUL included")

    # Bare LF: stored as CRLF (no end marker to smuggle past in BDAT).
    sent = b"From: alice@example.org\nSubject: bare\n\nline\n.\r\nMAIL FROM:<x@y>\r\nlast"
    expect(c.cmd("MAIL FROM:<alice@example.org>"), 250, "2.1.0", "MAIL again on the same connection")
    expect(c.cmd("RCPT TO:<demo@example.test>"), 250, "2.1.5", "RCPT")
    c.send(b"BDAT %d LAST\r\n" % len(sent) + sent)
    qid = queued_id(c.reply(), len(sent), "bare LF in BDAT is accepted")
    body, _ = after_received(terncat_message(suite, qid))
    check(body == sent.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n") + b"\r\n",
          f"and stored as CRLF, the unfinished last line given its CRLF: {body!r}")

    # Bare CR: refused by default (smtpd_forbid_bare_newline = yes), read to its end.
    sent = b"Subject: cr\r\n\r\na\r.\r\nQUIT\r\n"
    expect(c.cmd("MAIL FROM:<alice@example.org>"), 250, "2.1.0", "MAIL")
    expect(c.cmd("RCPT TO:<demo@example.test>"), 250, "2.1.5", "RCPT")
    c.send(b"BDAT %d LAST\r\n" % len(sent) + sent)
    expect(c.reply(), 550, "5.5.2", "a bare CR in BDAT")
    expect(c.cmd("NOOP"), 250, "2.0.0", "the QUIT inside the chunk was content, not a command")
    c.close()


def test_oversize(suite):
    c = open_transaction(suite.port(25))
    big = b"Subject: big\r\n\r\n" + b"y" * 59982 + b"\r\n"
    check(len(big) == 60000, "60,000 octets")
    c.send(b"BDAT 60000\r\n" + big + b"BDAT 60000\r\n" + big + b"BDAT 10 LAST\r\n" + b"QUIT\r\nxxxx")
    expect(c.reply(), 250, "2.0.0 Ok: 60000 bytes", "the first 60,000 octets fit")
    expect(c.reply(), 552, "5.3.4", "the running total past message_size_limit")
    expect(c.reply(), 552, "5.3.4", "the chunk pipelined behind it gets the same answer")
    expect(c.cmd("NOOP"), 250, "2.0.0", "the refused octets were read, none taken as a command")
    # The connection takes the next transaction.
    expect(c.cmd("MAIL FROM:<alice@example.org>"), 250, "2.1.0", "MAIL after the refusal")
    expect(c.cmd("RCPT TO:<demo@example.test>"), 250, "2.1.5", "RCPT")
    small = b"Subject: small\r\n\r\nok\r\n"
    c.send(b"BDAT %d LAST\r\n" % len(small) + small)
    queued_id(c.reply(), len(small), "the next message on the same connection")
    # One chunk over the limit on its own.
    expect(c.cmd("MAIL FROM:<alice@example.org>"), 250, "2.1.0", "MAIL")
    expect(c.cmd("RCPT TO:<demo@example.test>"), 250, "2.1.5", "RCPT")
    c.send(b"BDAT %d LAST\r\n" % (LIMIT + 1) + b"z" * (LIMIT + 1))
    expect(c.reply(), 552, "5.3.4", "a single chunk past the limit")
    expect(c.cmd("RSET"), 250, "2.0.0", "RSET")
    expect(c.cmd("MAIL FROM:<alice@example.org>"), 250, "2.1.0", "MAIL")
    expect(c.cmd("RCPT TO:<demo@example.test>"), 250, "2.1.5", "RCPT")
    c.send(b"BDAT 5 LAST\r\nabcde")
    queued_id(c.reply(), 5, "five octets")
    c.close()


def test_sequence_errors(suite):
    c = Raw(suite.port(25))
    c.ehlo()
    # No transaction: the octets are read all the same (RFC 3030 2).
    c.send(b"BDAT 12\r\nNOOP\r\nQUIT\r\n")
    expect(c.reply(), 503, "5.5.1", "BDAT without MAIL")
    expect(c.cmd("NOOP"), 250, "2.0.0", "the octets of the refused chunk were not commands")
    expect(c.cmd("MAIL FROM:<alice@example.org>"), 250, "2.1.0", "MAIL")
    c.send(b"BDAT 6 LAST\r\nQUIT\r\n")
    expect(c.reply(), 503, "5.5.1", "BDAT without RCPT")
    expect(c.cmd("NOOP"), 250, "2.0.0", "the QUIT inside was read as octets")
    expect(c.cmd("RCPT TO:<demo@example.test>"), 250, "2.1.5", "RCPT")
    c.send(b"BDAT 14\r\nSubject: x\r\n\r\n")
    expect(c.reply(), 250, "2.0.0 Ok: 14 bytes", "a first chunk")
    expect(c.cmd("DATA"), 503, "5.5.1", "DATA after BDAT (RFC 3030 2)")
    expect(c.cmd("RCPT TO:<demo@example.test>"), 503, "5.5.1", "RCPT after BDAT")
    c.send(b"BDAT 4 LAST\r\nend\n")
    qid = queued_id(c.reply(), 18, "the transaction goes on after those refusals")
    c.send(b"BDAT 3 LAST\r\nabc")
    expect(c.reply(), 503, "5.5.1", "BDAT after LAST")
    # Syntax: 501 5.5.4, and the session goes on.
    for bad in ["BDAT", "BDAT abc", "BDAT -1", "BDAT 12 LAST extra", "BDAT 99999999999999999999", "BDAT 1 LASTX"]:
        expect(c.cmd(bad), 501, "5.5.4", bad)
    expect(c.cmd("NOOP"), 250, "2.0.0", "the session goes on")
    # A bad BDAT in the middle of a transaction ends it: a chunk is lost.
    expect(c.cmd("MAIL FROM:<alice@example.org>"), 250, "2.1.0", "MAIL")
    expect(c.cmd("RCPT TO:<demo@example.test>"), 250, "2.1.5", "RCPT")
    c.send(b"BDAT 3\r\nabc")
    expect(c.reply(), 250, "2.0.0", "a chunk")
    expect(c.cmd("BDAT x"), 501, "5.5.4", "a bad size")
    expect(c.cmd("MAIL FROM:<alice@example.org>"), 250, "2.1.0", "the transaction was reset")
    expect(c.cmd("QUIT"), 221, "2.0.0", "QUIT")
    c.close()
    body, _ = after_received(terncat_message(suite, qid))
    check(body == b"Subject: x\r\n\r\nend\r\n", f"the message holds both chunks: {body!r}")


def plain(user, password):
    return base64.b64encode(b"\0" + user.encode() + b"\0" + password.encode()).decode()


def test_submission_tls(suite):
    msg = b"From: demo@example.test\r\nTo: someone@elsewhere.example\r\nSubject: over TLS\r\n\r\nhello\r\n"
    for port, implicit in [(suite.port(587), False), (suite.port(465), True)]:
        c = Raw(port, tls=implicit)
        if not implicit:
            c.ehlo()
            c.starttls()
        caps = c.ehlo()
        check("CHUNKING" in caps and any(x.startswith("AUTH") for x in caps), f"EHLO over TLS: {caps}")
        expect(c.cmd("AUTH PLAIN " + plain(suite.user, suite.password)), 235, "2.7.0", "AUTH")
        expect(c.cmd("MAIL FROM:<demo@example.test>"), 250, "2.1.0", "MAIL")
        expect(c.cmd("RCPT TO:<someone@elsewhere.example>"), 250, "2.1.5", "an authenticated user relays")
        c.send(b"BDAT 20\r\n" + msg[:20] + b"BDAT %d LAST\r\n" % (len(msg) - 20) + msg[20:])
        expect(c.reply(), 250, "2.0.0 Ok: 20 bytes", "a chunk over TLS")
        qid = queued_id(c.reply(), len(msg), f"BDAT LAST over TLS on {port}")
        expect(c.cmd("QUIT"), 221, "2.0.0", "QUIT")
        c.close()
        body, received = after_received(terncat_message(suite, qid))
        head, _, rest = body.partition(b"\r\n\r\n")
        added = [l for l in head.split(b"\r\n") if l.startswith((b"Date: ", b"Message-ID: "))]
        kept = b"\r\n".join(l for l in head.split(b"\r\n") if l not in added)
        check(len(added) == 2, f"submission adds the missing Date: and Message-ID: (RFC 6409 8): {added}")
        check(kept + b"\r\n\r\n" + rest == msg, "and otherwise the message over TLS, byte for byte")
        check(b"with ESMTPSA id " + qid.encode() in received, f"Received: says ESMTPSA: {received!r}")


def test_vrfy_default(suite):
    c = Raw(suite.port(25))
    caps = c.ehlo()
    check("VRFY" not in caps, f"EHLO does not list VRFY by default: {caps}")
    for addr in ["demo@example.test", "<nosuchuser@example.test>", "someone@elsewhere.example"]:
        expect(c.cmd("VRFY " + addr), 252, "2.0.0", f"VRFY {addr} tells nothing")
    expect(c.cmd("VRFY"), 501, "5.5.4", "VRFY without an address")
    c.close()


def test_vrfy_enabled(suite):
    c = Raw(suite.port(25))
    caps = c.ehlo()
    check("VRFY" in caps, f"EHLO lists VRFY: {caps}")
    for arg, code, enhanced in [
            ("<demo@example.test>", 250, "2.1.5"),
            ("demo+tag@example.test", 250, "2.1.5"),
            ("postmaster", 250, "2.1.5"),
            ("abuse@example.test", 250, "2.1.5"),
            ("<nosuchuser@example.test>", 550, "5.1.1"),
            ("someone@elsewhere.example", 252, "2.0.0"),
            ("justaname", 501, "5.1.3")]:
        expect(c.cmd("VRFY " + arg), code, enhanced, f"VRFY {arg}")
    # Pipelined VRFYs that each wait for authd answer in order.
    c.send("VRFY demo@example.test\r\nVRFY nosuch@example.test\r\nNOOP\r\n")
    expect(c.reply(), 250, "2.1.5", "first pipelined VRFY")
    expect(c.reply(), 550, "5.1.1", "second pipelined VRFY")
    expect(c.reply(), 250, "2.0.0", "NOOP after them")
    c.close()


def test_normalize_and_timeout(suite):
    """smtpd_forbid_bare_newline = normalize keeps a bare CR; a stalled chunk times out."""
    sent = b"Subject: cr\r\n\r\na\rb\r\nend\r\r"
    c = open_transaction(suite.port(25))
    c.send(b"BDAT 5\r\n" + sent[:5] + b"BDAT %d LAST\r\n" % (len(sent) - 5) + sent[5:])
    expect(c.reply(), 250, "2.0.0 Ok: 5 bytes", "a chunk")
    qid = queued_id(c.reply(), len(sent), "a bare CR with smtpd_forbid_bare_newline = normalize")
    body, _ = after_received(terncat_message(suite, qid))
    check(body == sent + b"\r\n", f"the bare CRs are kept, the last line given its CRLF: {body!r}")
    c.close()

    c = open_transaction(suite.port(25))
    c.send(b"BDAT 100 LAST\r\nonly ten..")
    expect(c.reply(), 421, "4.4.2", "a chunk that stops arriving (smtpd_timeout)")
    c.close()
    check(wait_for(lambda: "timeout after BDAT from" in suite.log_text()), "the log says the timeout came in BDAT")

    c = open_transaction(suite.port(25))
    c.send(b"BDAT 100\r\npart of it")
    c.close()
    check(wait_for(lambda: "lost connection after BDAT from" in suite.log_text()), "and a client gone in a chunk")


def test_fsync_failure():
    """Durable before acknowledged, as for DATA: a failing fsync gives BDAT
    LAST 451 4.3.0, never 250, and leaves nothing behind."""
    suite = Suite({"message_size_limit": str(LIMIT), **HOLD_MAIL})
    try:
        suite.start({"TERN_FAULTS": "fsync:5:1"})
        msg = b"Subject: durable\r\n\r\nbody\r\n"
        c = open_transaction(suite.port(25))
        c.send(b"BDAT 10\r\n" + msg[:10] + b"BDAT %d LAST\r\n" % (len(msg) - 10) + msg[10:])
        expect(c.reply(), 250, "2.0.0 Ok: 10 bytes", "a chunk")
        expect(c.reply(), 451, "4.3.0", "a failing fsync: BDAT LAST gets 451 4.3.0, never 250")
        check(not suite.queue_files(), "nothing is queued")
        check(not suite.queue_files("tmp"), "nor left in tmp/")
        expect(c.cmd("MAIL FROM:<alice@example.org>"), 250, "2.1.0", "MAIL on the same connection")
        expect(c.cmd("RCPT TO:<demo@example.test>"), 250, "2.1.5", "RCPT")
        c.send(b"BDAT %d LAST\r\n" % len(msg) + msg)
        queued_id(c.reply(), len(msg), "the next message (no fault left) is queued")
        c.close()
    finally:
        suite.stop()
        suite.cleanup()


def main():
    suite = Suite({"message_size_limit": str(LIMIT), **HOLD_MAIL})
    try:
        suite.start()
        test_single_chunk(suite)
        test_pipelined_chunks(suite)
        test_eight_bit_and_newlines(suite)
        test_oversize(suite)
        test_sequence_errors(suite)
        test_submission_tls(suite)
        test_vrfy_default(suite)
        suite.stop()
        suite.configure({"disable_vrfy_command": "no", "smtpd_forbid_bare_newline": "normalize",
                         "smtpd_timeout": "2s"})
        suite.start()
        test_vrfy_enabled(suite)
        test_normalize_and_timeout(suite)
        suite.stop()
    finally:
        suite.cleanup()
    # Only builds with TERN_FAULT_INJECTION can fail an fsync on purpose.
    if os.environ.get("TERN_FAULT_BUILD", "1") == "1":
        test_fsync_failure()
    else:
        print("skipped: the fsync-failure check needs a TERN_FAULT_INJECTION build")


if __name__ == "__main__":
    main()
