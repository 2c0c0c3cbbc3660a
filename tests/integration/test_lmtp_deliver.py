"""lmtp-deliver(8) on private/deliver of a suite made by `ternctl init`,
driven with Python's smtplib.LMTP and a raw socket: an unknown user gets
550 5.1.1 at RCPT; with one known and one unknown recipient DATA answers
once per accepted recipient; the file lands in the user's Maildir new/ with
Return-Path:, Delivered-To:, CRLF line ends and S=/W= equal to its size; the
special-use folders are created; a duplicate RCPT gets one copy;
plus-addressing goes into an existing folder only with
lmtp_save_to_detail_mailbox = yes (else INBOX, and INBOX when the folder is
missing); quota: a full mailbox gets 452 4.2.2 at RCPT, a message that would
fill it 452 4.2.2 after DATA, a message larger than the quota 552 5.2.2;
a Delivered-To: loop gets 554 5.4.6 for that recipient only; 8 pipelined
transactions; hostile input (a 2000-byte command, a line past
line_length_limit, NUL, a message past message_size_limit) gets 5xx and the
session still answers; authd unreachable gets 451 4.3.0; the optional inet
service delivers too; an idle session gets 421 4.3.2 when a reload stops
its process."""
import os
import signal
import re
import smtplib
import socket
import subprocess
import time

from tern_harness import BIN, Suite, check, fail, processes, wait_for

SIZE_LIMIT = 200000


def adm(suite, *args):
    return subprocess.run([os.path.join(BIN, "ternadm"), "-c", suite.dir, *args], capture_output=True, text=True,
                          timeout=60)


def socket_path(suite):
    return os.path.join(suite.queue, "private", "deliver")


def lmtp(suite):
    c = smtplib.LMTP(socket_path(suite), timeout=20)
    code, _ = c.ehlo()  # smtplib.LMTP sends LHLO here
    if code != 250:
        fail(f"LHLO answered {code}")
    return c


def maildir(suite, user, folder=""):
    local, domain = user.split("@")
    md = os.path.join(suite.dir, "mail", domain, local, "Maildir")
    return os.path.join(md, "." + folder) if folder else md


def new_files(suite, user, folder=""):
    d = os.path.join(maildir(suite, user, folder), "new")
    try:
        return sorted(os.listdir(d))
    except FileNotFoundError:
        return []


def read_new(suite, user, name, folder=""):
    with open(os.path.join(maildir(suite, user, folder), "new", name), "rb") as f:
        return f.read()


def transaction(c, sender, rcpts, body):
    """MAIL, RCPTs, DATA; returns ([rcpt replies], [data replies]) where the
    data replies are one per accepted recipient (RFC 2033 4.2)."""
    code, msg = c.mail(sender)
    if code != 250:
        fail(f"MAIL answered {code} {msg}")
    rr = [c.rcpt(r) for r in rcpts]
    accepted = sum(1 for code, _ in rr if code == 250)
    if not accepted:
        return rr, []
    code, msg = c.docmd("DATA")
    if code != 354:
        return rr, [(code, msg)]
    data = body.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")
    data = re.sub(rb"(?m)^\.", b"..", data)
    if not data.endswith(b"\r\n"):
        data += b"\r\n"
    c.send(data + b".\r\n")
    replies = [c.getreply() for _ in range(accepted)]
    return rr, replies


class Raw:
    """A raw LMTP connection for pipelining and hostile input."""

    def __init__(self, suite):
        self.s = socket.socket(socket.AF_UNIX)
        self.s.settimeout(20)
        self.s.connect(socket_path(suite))
        self.f = self.s.makefile("rb")
        self.greeting = self.reply()

    def reply(self):
        lines = []
        while True:
            line = self.f.readline()
            if not line:
                return (None, lines)
            line = line.decode(errors="replace").rstrip("\r\n")
            lines.append(line)
            if len(line) < 4 or line[3] != "-":
                return (int(line[:3]), lines)

    def send(self, data):
        self.s.sendall(data)

    def cmd(self, line):
        self.send(line + b"\r\n")
        return self.reply()

    def close(self):
        self.f.close()
        self.s.close()


def message(subject, extra_headers=b"", body=b"hello\r\n"):
    return (b"From: sender@example.org\r\nTo: someone@example.test\r\nSubject: " + subject.encode() +
            b"\r\nMessage-ID: <" + subject.replace(" ", "-").encode() + b"@example.org>\r\n" + extra_headers +
            b"\r\n" + body)


def test_basic(suite):
    demo = suite.user
    c = lmtp(suite)
    rr, dr = transaction(c, "sender@example.org", ["nobody@example.test"], message("unknown"))
    check(rr[0][0] == 550 and rr[0][1].startswith(b"5.1.1"), f"an unknown user gets 550 5.1.1 at RCPT: {rr}")
    check(dr == [], "and DATA is not reached")
    c.rset()

    rr, dr = transaction(c, "sender@example.org", [demo, "nobody@example.test"], message("first message"))
    check([x[0] for x in rr] == [250, 550], f"one known, one unknown recipient: {rr}")
    check(len(dr) == 1 and dr[0][0] == 250 and dr[0][1].startswith(b"2.0.0"),
          f"DATA answers once, for the one accepted recipient: {dr}")
    files = new_files(suite, demo)
    check(len(files) == 1, f"one file in {demo}'s Maildir new/: {files}")
    name = files[0]
    data = read_new(suite, demo, name)
    check(data.startswith(b"Return-Path: <sender@example.org>\r\nDelivered-To: demo@example.test\r\n"),
          f"Return-Path and Delivered-To come first: {data[:120]!r}")
    check(b"Subject: first message\r\n" in data and data.endswith(b"hello\r\n"), "then the message as sent")
    check(b"\n" not in data.replace(b"\r\n", b""), "stored with CRLF line ends only")
    m = re.search(r",S=(\d+),W=(\d+)$", name)
    check(m and int(m.group(1)) == len(data) == int(m.group(2)), f"S= and W= are the file's size: {name} {len(data)}")
    md = maildir(suite, demo)
    for f in ("Sent", "Drafts", "Trash", "Junk", "Archive"):
        check(all(os.path.isdir(os.path.join(md, "." + f, sub)) for sub in ("cur", "new", "tmp")),
              f"special-use folder {f} created with cur/ new/ tmp/")
    check(wait_for(lambda: re.search(r"lmtp-deliver\[\d+\]: \S+: from=<sender@example.org>, to=<demo@example.test>, "
                                     r"msgid=<first-message@example.org>, size=\d+, saved to INBOX", suite.log_text())),
          "logged: ID: from=<...>, to=<...>, msgid=<...>, size=N, saved to INBOX")
    check(wait_for(lambda: "reject: RCPT from local: 550 5.1.1 <nobody@example.test> User unknown" in suite.log_text()),
          "the unknown recipient is logged")

    # A duplicate RCPT: accepted, its own reply after DATA, one copy.
    rr, dr = transaction(c, "", [demo, "Demo@EXAMPLE.test"],
                         message("duplicate"))
    check([x[0] for x in rr] == [250, 250] and [x[0] for x in dr] == [250, 250],
          f"two RCPTs for one address: two replies after DATA: {rr} {dr}")
    check(len(new_files(suite, demo)) == 2, "and one copy")
    got = [read_new(suite, demo, n) for n in new_files(suite, demo)]
    check(any(g.startswith(b"Return-Path: <>\r\n") for g in got), "the null sender is Return-Path: <>")
    c.quit()


def test_inet(suite):
    """The optional inet service (port N+24), for another MTA."""
    c = smtplib.LMTP("127.0.0.1", suite.port(24), timeout=20)
    code, _ = c.ehlo()
    rr, dr = transaction(c, "sender@example.org", [suite.user], message("over tcp"))
    c.quit()
    check(code == 250 and dr and dr[0][0] == 250, f"LMTP over TCP on the inet service delivers: {dr}")
    check(wait_for(lambda: re.search(r"\S+: connect from 127.0.0.1\b", suite.log_text())),
          "and logs the client's address")


def authd_children(suite):
    """PIDs of the authd processes of this suite's master."""
    return [pid for pid, (ppid, comm) in processes().items() if comm == "authd" and ppid == suite.master_pid]


def test_userdb_unreachable(suite):
    """authd's socket moved away: RCPT gets 451 4.3.0, never 550."""
    userdb = os.path.join(suite.queue, "private", "userdb")
    os.rename(userdb, userdb + ".away")
    # lmtp-deliver keeps one connection to the userdb: end it too (the
    # authd processes of this suite, by PID; master starts new ones).
    for pid in authd_children(suite):
        try:
            os.kill(pid, signal.SIGTERM)
        except ProcessLookupError:
            pass
    try:
        c = lmtp(suite)
        c.mail("sender@example.org")
        code, msg = c.rcpt(suite.user)
        check(code == 451 and msg.startswith(b"4.3.0"), f"userdb unreachable: 451 4.3.0 at RCPT: {code} {msg}")
        c.rset()
        c.quit()
    finally:
        os.rename(userdb + ".away", userdb)
    check(wait_for(lambda: "userdb lookup for <demo@example.test> failed" in suite.log_text()),
          "logged as a warning with the reason")


def test_plus_addressing(suite):
    demo = suite.user
    md = maildir(suite, demo)
    owner = os.stat(md)
    work = os.path.join(md, ".Work")
    for sub in ("", "cur", "new", "tmp"):
        os.makedirs(os.path.join(work, sub), exist_ok=True)
        os.chown(os.path.join(work, sub), owner.st_uid, owner.st_gid)
    before_inbox = set(new_files(suite, demo))
    c = lmtp(suite)
    rr, dr = transaction(c, "sender@example.org", ["demo+Work@example.test"], message("plus off"))
    added = sorted(set(new_files(suite, demo)) - before_inbox)
    check(dr and dr[0][0] == 250 and len(added) == 1 and not new_files(suite, demo, "Work"),
          "lmtp_save_to_detail_mailbox = no: demo+Work goes into INBOX")
    # (File names do not sort by time: M<microseconds> is not zero-padded.)
    data = read_new(suite, demo, added[0])
    check(b"Delivered-To: demo+Work@example.test\r\n" in data, "Delivered-To is the address as given")
    c.quit()

    idle = Raw(suite)
    check(idle.cmd(b"LHLO idle.example.org")[0] == 250, "an idle session (between transactions)")
    suite.configure({"lmtp_save_to_detail_mailbox": "yes"})
    r = suite.ctl("reload")
    if r.returncode != 0:
        fail("reload: " + r.stderr)
    code, lines = idle.reply()
    check(code == 421 and "4.3.2" in lines[0], f"gets 421 4.3.2 at once when its process stops on reload: {lines}")
    idle.close()
    # The processes started before the reload finish their clients; a new
    # connection reaches one with the new setting within a few seconds.
    def delivered_to_work():
        c = lmtp(suite)
        rr, dr = transaction(c, "sender@example.org", ["demo+Work@example.test"], message("plus on"))
        c.quit()
        return new_files(suite, demo, "Work")
    check(wait_for(delivered_to_work, timeout=15, step=0.5), "lmtp_save_to_detail_mailbox = yes: into the Work folder")
    n_inbox = len(new_files(suite, demo))
    c = lmtp(suite)
    rr, dr = transaction(c, "sender@example.org", ["demo+Missing@example.test"], message("plus missing"))
    check(dr and dr[0][0] == 250 and len(new_files(suite, demo)) == n_inbox + 1 and
          not os.path.exists(os.path.join(md, ".Missing")),
          "a folder that does not exist: INBOX, and no folder is created")
    c.quit()
    check(wait_for(lambda: re.search(r"to=<demo\+Work@example.test>, msgid=<plus-on@example.org>, size=\d+, saved to Work",
                                     suite.log_text())), "logged: saved to Work")


def test_quota(suite):
    for user, rule in (("small@example.test", "*:storage=1K"), ("one@example.test", "*:messages=1")):
        r = adm(suite, "user", "add", user, "-p", "Secret-passw0rd", "-q", rule)
        if r.returncode != 0:
            fail(f"ternadm user add {user}: {r.stderr}")
    c = lmtp(suite)
    rr, dr = transaction(c, "sender@example.org", ["small@example.test"], message("big", body=b"x" * 2000 + b"\r\n"))
    check(rr[0][0] == 250 and dr and dr[0][0] == 552 and dr[0][1].startswith(b"5.2.2"),
          f"a message larger than the whole quota: 552 5.2.2 after DATA: {dr}")
    rr, dr = transaction(c, "sender@example.org", ["small@example.test"], message("fits", body=b"y" * 500 + b"\r\n"))
    check(dr and dr[0][0] == 250, f"one that fits is delivered: {dr}")
    rr, dr = transaction(c, "sender@example.org", ["small@example.test", suite.user],
                         message("would fill", body=b"z" * 500 + b"\r\n"))
    check([x[0] for x in dr] == [452, 250] and dr[0][1].startswith(b"4.2.2"),
          f"one that would fill it: 452 4.2.2 for that recipient only: {dr}")
    sizefile = os.path.join(maildir(suite, "small@example.test"), "maildirsize")
    check(os.path.exists(sizefile), "usage is kept in maildirsize")

    rr, dr = transaction(c, "sender@example.org", ["one@example.test"], message("only one"))
    check(dr and dr[0][0] == 250, "*:messages=1: the first message is delivered")
    code, msg = c.mail("sender@example.org")
    code, msg = c.rcpt("one@example.test")
    check(code == 452 and msg.startswith(b"4.2.2"), f"then the full mailbox is refused at RCPT: {code} {msg}")
    c.rset()
    c.quit()
    check(wait_for(lambda: "refused: 552 5.2.2" in suite.log_text()), "the refusal is logged")


def test_loop(suite):
    r = adm(suite, "user", "add", "bob@example.test", "-p", "Secret-passw0rd")
    if r.returncode != 0:
        fail(f"ternadm user add bob: {r.stderr}")
    before = len(new_files(suite, suite.user))
    c = lmtp(suite)
    looped = message("loop", extra_headers=b"Delivered-To: Demo@Example.TEST\r\n")
    rr, dr = transaction(c, "sender@example.org", [suite.user, "bob@example.test"], looped)
    check(len(dr) == 2 and dr[0][0] == 554 and dr[0][1] == b"5.4.6 mail forwarding loop for <demo@example.test>",
          f"a message already delivered to demo: 554 5.4.6 for demo: {dr}")
    check(len(new_files(suite, suite.user)) == before, "and no copy for demo")
    check(dr[1][0] == 250 and len(new_files(suite, "bob@example.test")) == 1, f"bob gets his copy: {dr[1]}")
    c.quit()


def test_pipelining(suite):
    before = len(new_files(suite, suite.user))
    r = Raw(suite)
    check(r.greeting[0] == 220, f"greeting {r.greeting}")
    batch = b"LHLO client.example.org\r\n"
    for i in range(8):
        batch += (b"MAIL FROM:<p@example.org> SIZE=100 BODY=8BITMIME\r\n"
                  b"RCPT TO:<demo@example.test> NOTIFY=SUCCESS,FAILURE ORCPT=rfc822;demo@example.test\r\n"
                  b"DATA\r\n" + message(f"pipelined {i}") + b".\r\n")
    batch += b"QUIT\r\n"
    r.send(batch)
    code, lines = r.reply()
    check(code == 250 and any("PIPELINING" in l for l in lines) and any("ENHANCEDSTATUSCODES" in l for l in lines),
          f"LHLO advertises PIPELINING and ENHANCEDSTATUSCODES: {lines}")
    codes = [r.reply()[0] for _ in range(8 * 4 + 1)]
    check(codes == [250, 250, 354, 250] * 8 + [221], f"8 pipelined transactions answered in order: {codes}")
    r.close()
    check(len(new_files(suite, suite.user)) == before + 8, "8 more files in new/")


def test_hostile(suite):
    before = len(new_files(suite, suite.user))
    r = Raw(suite)
    check(r.cmd(b"HELO x")[0] == 500, "HELO is not LMTP (RFC 2033 4.1): 500")
    check(r.cmd(b"MAIL FROM:<a@example.org>")[0] == 503, "MAIL before LHLO: 503")
    check(r.cmd(b"LHLO client.example.org")[0] == 250, "LHLO")
    code, lines = r.cmd(b"X" * 2000)
    check(code == 500, f"a 2000-byte command: 500 ({lines[0][:40]})")
    code, lines = r.cmd(b"NOOP " + b"y" * 5000)
    check(code == 500 and "5.5.2" in lines[0], f"a line past line_length_limit: 500 5.5.2: {lines}")
    code, lines = r.cmd(b"NO\x00OP")
    check(code == 500 and "5.5.2" in lines[0], f"a NUL byte: 500 5.5.2: {lines}")
    code, lines = r.cmd(b"MAIL FROM:<a@example.org> SIZE=%d" % (SIZE_LIMIT * 2))
    check(code == 552 and "5.3.4" in lines[0], f"SIZE past message_size_limit: 552 5.3.4: {lines}")
    check(r.cmd(b"MAIL FROM:<a@example.org>")[0] == 250, "MAIL")
    check(r.cmd(b"RCPT TO:<demo@example.test>")[0] == 250, "RCPT")
    check(r.cmd(b"RCPT TO:<bob@example.test>")[0] == 250, "RCPT (second)")
    check(r.cmd(b"DATA")[0] == 354, "DATA")
    line = b"a" * 998 + b"\r\n"
    r.send(message("too big", body=line * (SIZE_LIMIT // 1000 + 10)) + b".\r\n")
    replies = [r.reply() for _ in range(2)]
    check(all(code == 552 and "5.3.4" in lines[0] for code, lines in replies),
          f"a message past message_size_limit: 552 5.3.4 for each recipient: {replies}")
    check(r.cmd(b"NOOP")[0] == 250, "and the session still answers")
    check(r.cmd(b"VRFY demo@example.test")[0] == 252, "VRFY: 252")
    check(r.cmd(b"RSET")[0] == 250, "RSET")
    check(r.cmd(b"DATA")[0] == 503, "DATA without MAIL: 503")
    check(r.cmd(b"QUIT")[0] == 221, "QUIT")
    r.close()
    check(len(new_files(suite, suite.user)) == before, "nothing was delivered")
    c = lmtp(suite)
    check(c.noop()[0] == 250, "and the daemon answers a new session")
    c.quit()


def main():
    suite = Suite({"message_size_limit": str(SIZE_LIMIT)})
    try:
        # Turn on the optional inet service ternctl init wrote commented out.
        path = os.path.join(suite.dir, "master.cf")
        with open(path) as f:
            text = f.read()
        port = str(suite.port(24))
        text = text.replace(f"#{port}     inet  n       n       n       -       -       lmtp-deliver\n#  -o",
                            f"{port}      inet  n       n       n       -       -       lmtp-deliver\n  -o")
        if f"\n{port} " not in text:
            fail("the optional lmtp-deliver inet line is not in master.cf as expected")
        with open(path, "w") as f:
            f.write(text)
        suite.start()
        check(wait_for(lambda: os.path.exists(socket_path(suite)), timeout=10), "private/deliver exists")
        test_basic(suite)
        test_quota(suite)
        test_loop(suite)
        test_pipelining(suite)
        test_hostile(suite)
        test_userdb_unreachable(suite)
        test_inet(suite)
        test_plus_addressing(suite)
        suite.stop()
        check("panic:" not in suite.log_text() and "fatal:" not in suite.log_text(), "no daemon panicked or died")
    finally:
        suite.cleanup()


if __name__ == "__main__":
    main()
