"""imapd's commands with exact expectations, driven through the PREAUTH
mode (`imapd -u USER -h HOME` on stdin/stdout) by Python's imaplib and by
raw transcripts where imaplib cannot go (IDLE, literals, pipelining,
hostile input). Exit status: 0 pass, 1 fail."""
import imaplib
import os
import re
import shutil
import tempfile
import time

from imap_stdio import Raw, deliver, imaplib_session
from tern_harness import check

SIMPLE = (b"From: Alice <alice@example.org>\r\n"
          b"To: Bob <bob@example.test>\r\n"
          b"Subject: hello\r\n"
          b"Date: Mon, 23 Nov 2026 06:00:00 +0000\r\n"
          b"Message-ID: <m1@example.org>\r\n"
          b"\r\n"
          b"first body\r\n")

MULTIPART = (b"From: Carol <carol@example.org>\r\n"
             b"To: Bob <bob@example.test>\r\n"
             b"Subject: report\r\n"
             b"Date: Tue, 24 Nov 2026 10:00:00 +0100\r\n"
             b"Message-ID: <m2@example.org>\r\n"
             b"MIME-Version: 1.0\r\n"
             b"Content-Type: multipart/mixed; boundary=\"XX\"\r\n"
             b"\r\n"
             b"--XX\r\n"
             b"Content-Type: text/plain; charset=utf-8\r\n"
             b"\r\n"
             b"see the attachment\r\n"
             b"--XX\r\n"
             b"Content-Type: application/pdf; name=\"r.pdf\"\r\n"
             b"Content-Disposition: attachment; filename=\"r.pdf\"\r\n"
             b"Content-Transfer-Encoding: base64\r\n"
             b"\r\n"
             b"JVBERi0xLjQK\r\n"
             b"--XX--\r\n")

BODYSTRUCTURE = ('(("text" "plain" ("charset" "utf-8") NIL NIL "7bit" 18 0 NIL NIL NIL NIL)'
                 '("application" "pdf" ("name" "r.pdf") NIL NIL "base64" 12 NIL ("attachment" ("filename" "r.pdf"))'
                 ' NIL NIL) "mixed" ("boundary" "XX") NIL NIL NIL)')

def test_any_state(home):
    r = Raw(home)
    check(r.greeting.startswith("* PREAUTH [CAPABILITY IMAP4rev1 ") and r.greeting.endswith(
        "Logged in as alice@example.test"), f"PREAUTH greeting: {r.greeting}")
    lines = r.cmd("a1", "CAPABILITY")
    caps = lines[0].split()[2:]
    for cap in ("IMAP4rev1", "LITERAL+", "IDLE", "UIDPLUS", "MOVE", "SPECIAL-USE", "NAMESPACE", "ID", "ENABLE",
                "UNSELECT", "CHILDREN"):
        check(cap in caps, f"CAPABILITY lists {cap}")
    check(lines[-1] == "a1 OK Capability completed.", f"CAPABILITY completes: {lines}")
    check(r.cmd("a2", "noop") == ["a2 OK NOOP completed."], "NOOP in lower case")
    check(r.cmd("a3", "FROB")[-1].startswith("a3 BAD"), "an unknown command is BAD")
    check(r.cmd("a4", "LOGIN a b")[-1].startswith("a4 BAD"), "LOGIN after login is BAD")
    check(r.cmd("a5", "NAMESPACE") == ['* NAMESPACE (("" "/")) NIL NIL', "a5 OK Namespace completed."], "NAMESPACE")
    check(r.cmd("a6", 'ID ("name" "test")') == ['* ID ("name" "Tern")', "a6 OK ID completed."], "ID")
    check(r.cmd("a7", "ENABLE CONDSTORE") == ["* ENABLED", "a7 OK Enabled."], "ENABLE enables nothing unknown")
    check(r.cmd("a8", "FETCH 1 FLAGS")[-1].startswith("a8 BAD"), "FETCH without a mailbox is BAD")
    check(r.cmd("a9", "LOGOUT") == ["* BYE Logging out", "a9 OK Logout completed."], "LOGOUT: BYE, then OK")
    check(r.close() == 0, "imapd exits 0 after LOGOUT")
    err = r.p.stderr.read().decode()
    check(re.search(r"imap\(alice@example\.test\): Logged out in=\d+ out=\d+", err) is not None,
          f"the logout is logged as Dovecot does: {err}")


def test_mailboxes(home):
    m = imaplib_session(home)
    check(m.state == "AUTH", f"imaplib sees the PREAUTH state: {m.state}")
    typ, data = m.list()
    check(typ == "OK" and data == [b'(\\HasNoChildren) "/" INBOX', b'(\\HasNoChildren \\Archive) "/" Archive',
                                   b'(\\HasNoChildren \\Drafts) "/" Drafts', b'(\\HasNoChildren \\Junk) "/" Junk',
                                   b'(\\HasNoChildren \\Sent) "/" Sent', b'(\\HasNoChildren \\Trash) "/" Trash'],
          f"the first login made the Maildir with its special-use folders: {data}")
    check(m.create("Work/2026")[0] == "OK", "CREATE Work/2026 (and its parent)")
    typ, data = m.list('""', "Work*")
    check(data == [b'(\\HasChildren) "/" Work', b'(\\HasNoChildren) "/" Work/2026'], f"LIST Work*: {data}")
    typ, data = m.list('""', "%")
    check(b'(\\HasChildren) "/" Work' in data and b'(\\HasNoChildren) "/" Work/2026' not in data,
          f"% stops at the separator: {data}")
    typ, data = m.create("Work")
    check(typ == "NO" and data[0].startswith(b"[ALREADYEXISTS]"),
          f"CREATE of an existing name is NO [ALREADYEXISTS]: {typ} {data}")
    check(m.rename("Work/2026", "Archive/2026")[0] == "OK", "RENAME Work/2026 Archive/2026")
    typ, data = m.list('""', "Archive/*")
    check(data == [b'(\\HasNoChildren) "/" Archive/2026'], f"the renamed folder: {data}")
    check(m.subscribe("Archive/2026")[0] == "OK", "SUBSCRIBE")
    typ, data = m.lsub('""', "*")
    check(data == [b'(\\HasNoChildren) "/" Archive/2026'], f"LSUB: {data}")
    check(m.unsubscribe("Archive/2026")[0] == "OK", "UNSUBSCRIBE")
    typ, data = m.lsub('""', "*")
    check(data == [None], f"LSUB after UNSUBSCRIBE: {data}")
    check(m.delete("Archive/2026")[0] == "OK", "DELETE Archive/2026")
    check(m.delete("INBOX")[0] == "NO", "DELETE INBOX is NO")
    for bad_name in ("../x", "a/../../b", "~bob", "#news.x", "/etc"):
        typ, data = m.create(bad_name)
        check(typ == "NO", f"CREATE {bad_name!r} is refused: {typ} {data}")
        typ, data = m.select(bad_name)
        check(typ == "NO", f"SELECT {bad_name!r} is refused: {typ} {data}")
    check(not os.path.exists(os.path.join(home, "x")) and not os.path.exists(os.path.join(home, "..", "b")),
          "no name tricks escaped the Maildir")
    m.logout()


def test_select_fetch(home):
    md = os.path.join(home, "Maildir")
    deliver(md, SIMPLE)
    deliver(md, MULTIPART)
    m = imaplib_session(home)
    typ, data = m.select("INBOX")
    check(typ == "OK" and data == [b"2"], f"SELECT INBOX: 2 messages: {typ} {data}")
    check(m.untagged_responses.get("RECENT") == [b"2"], f"2 RECENT: {m.untagged_responses.get('RECENT')}")
    check(m.untagged_responses.get("UNSEEN") == [b"1"], f"UNSEEN 1: {m.untagged_responses.get('UNSEEN')}")
    check(m.untagged_responses.get("UIDNEXT") == [b"3"], f"UIDNEXT 3: {m.untagged_responses.get('UIDNEXT')}")
    uidvalidity = int(m.untagged_responses["UIDVALIDITY"][0])
    check(uidvalidity > 0, f"a UIDVALIDITY: {uidvalidity}")
    typ, data = m.fetch("1:2", "(UID FLAGS RFC822.SIZE)")
    check(data == [f"1 (UID 1 FLAGS (\\Recent) RFC822.SIZE {len(SIMPLE)})".encode(),
                   f"2 (UID 2 FLAGS (\\Recent) RFC822.SIZE {len(MULTIPART)})".encode()],
          f"FETCH UID FLAGS RFC822.SIZE: {data}")
    typ, data = m.fetch("1", "ENVELOPE")
    check(data == [b'1 (ENVELOPE ("Mon, 23 Nov 2026 06:00:00 +0000" "hello" (("Alice" NIL "alice" "example.org")) '
                   b'(("Alice" NIL "alice" "example.org")) (("Alice" NIL "alice" "example.org")) '
                   b'(("Bob" NIL "bob" "example.test")) NIL NIL NIL "<m1@example.org>"))'],
          f"ENVELOPE: {data}")
    typ, data = m.fetch("2", "BODYSTRUCTURE")
    check(data == [("2 (BODYSTRUCTURE " + BODYSTRUCTURE + ")").encode()], f"BODYSTRUCTURE of a multipart with an "
                                                                          f"attachment: {data}")
    typ, data = m.fetch("2", "BODYSTRUCTURE")
    check(data == [("2 (BODYSTRUCTURE " + BODYSTRUCTURE + ")").encode()], "BODYSTRUCTURE again (from the cache)")
    check(os.path.exists(os.path.join(md, "tern-index")), "the folder's index/cache exists")
    typ, data = m.fetch("2", "(BODY.PEEK[1] BODY.PEEK[2.MIME])")
    check(data[0][1] == b"see the attachment" and b"Content-Type: application/pdf" in data[1][1],
          f"BODY.PEEK[1] and [2.MIME]: {data}")
    typ, data = m.fetch("1", "(FLAGS)")
    check(data == [b"1 (FLAGS (\\Recent))"], f"PEEK left \\Seen alone: {data}")
    typ, data = m.fetch("1", "BODY[HEADER.FIELDS (SUBJECT)]")
    check(data[0][1] == b"Subject: hello\r\n\r\n", f"BODY[HEADER.FIELDS (SUBJECT)]: {data}")
    typ, data = m.fetch("1", "(FLAGS)")
    check(data == [b"1 (FLAGS (\\Seen \\Recent))"], f"BODY[...] without PEEK set \\Seen: {data}")
    typ, data = m.fetch("1", "BODY[]<6.5>")
    check(data[0][0].endswith(b"BODY[]<6> {5}") and data[0][1] == b"Alice", f"a partial BODY[]<6.5>: {data}")
    typ, data = m.fetch("1", "RFC822")
    check(data[0][1] == SIMPLE, "RFC822 is the message as stored")
    typ, data = m.uid("FETCH", "2", "(FLAGS)")
    check(data == [b"2 (UID 2 FLAGS (\\Recent))"], f"UID FETCH carries the UID: {data}")
    typ, data = m.fetch("1:2", "INTERNALDATE")
    check(all(re.match(rb'\d+ \(INTERNALDATE "[ \d]\d-[A-Z][a-z]{2}-\d{4} \d\d:\d\d:\d\d [+-]\d{4}"\)', d)
              for d in data), f"INTERNALDATE: {data}")
    try:
        typ, data = m.fetch("3", "FLAGS")
    except imaplib.IMAP4.error as e:
        typ, data = "BAD", str(e)
    check(typ == "BAD", f"a message number past the end is BAD: {typ} {data}")
    # STORE
    typ, data = m.store("1:2", "+FLAGS", "(\\Flagged $Important)")
    check(data == [b"1 (FLAGS (\\Flagged \\Seen \\Recent $Important))", b"2 (FLAGS (\\Flagged \\Recent $Important))"],
          f"STORE +FLAGS: {data}")
    typ, data = m.store("2", "-FLAGS.SILENT", "(\\Flagged)")
    check(typ == "OK" and data == [None], f"STORE .SILENT answers no FETCH: {data}")
    typ, data = m.store("2", "FLAGS", "(\\Answered)")
    check(data == [b"2 (FLAGS (\\Answered \\Recent))"], f"STORE FLAGS replaces: {data}")
    names = sorted(os.listdir(os.path.join(md, "cur")))
    check(len(names) == 2 and names[0].endswith(":2,FSa") and names[1].endswith(":2,R"),
          f"flags are in the file names, keywords as letters: {names}")
    with open(os.path.join(md, "dovecot-keywords")) as f:
        check(f.read() == "0 $Important\n", "the keyword is in dovecot-keywords")
    # SEARCH
    for crit, want in ((("ALL",), b"1 2"), (("FLAGGED",), b"1"), (("UNFLAGGED",), b"2"), (("ANSWERED",), b"2"),
                       (("FROM", "carol"), b"2"), (("SUBJECT", "HELLO"), b"1"), (("BODY", "attachment"), b"2"),
                       (("KEYWORD", "$Important"), b"1"), (("OR", "ANSWERED", "SEEN"), b"1 2"),
                       (("NOT", "SEEN"), b"2"), (("LARGER", str(len(SIMPLE))), b"2"),
                       (("SENTBEFORE", "24-Nov-2026"), b"1"), (("SENTON", "24-Nov-2026"), b"2"),
                       (("HEADER", "Message-ID", "m2@"), b"2"), (("2",), b"2"), (("UID", "1"), b"1"),
                       (("TEXT", '"first body"'), b"1"), (("DELETED",), b"")):
        typ, data = m.search(None, *crit)
        check(typ == "OK" and data == [want], f"SEARCH {' '.join(crit)}: {data}")
    typ, data = m.uid("SEARCH", "FROM", "carol")
    check(data == [b"2"], f"UID SEARCH: {data}")
    typ, data = m.search("KOI8-R", "ALL")
    check(typ == "NO", f"SEARCH with an unknown CHARSET is NO: {typ} {data}")
    # APPEND
    typ, data = m.append("INBOX", "(\\Seen \\Draft)", imaplib.Time2Internaldate(1700000000), SIMPLE.replace(
        b"hello", b"third"))
    check(typ == "OK" and data == [f"[APPENDUID {uidvalidity} 3] Append completed.".encode()],
          f"APPEND answers APPENDUID: {typ} {data}")
    typ, data = m.noop()
    check(m.untagged_responses.get("EXISTS", [b""])[-1] == b"3",
          f"EXISTS after APPEND: {m.untagged_responses.get('EXISTS')}")
    typ, data = m.fetch("3", "(UID FLAGS INTERNALDATE)")
    check(data == [b'3 (UID 3 FLAGS (\\Seen \\Draft) INTERNALDATE "14-Nov-2023 22:13:20 +0000")'] or
          (data[0].startswith(b"3 (UID 3 FLAGS (\\Seen \\Draft) INTERNALDATE") and b"Nov-2023" in data[0]),
          f"the appended message has its flags and date: {data}")
    # COPY, MOVE
    typ, data = m.copy("1:2", "Trash")
    check(typ == "OK" and re.match(rb"\[COPYUID \d+ 1:2 1:2\] Copy completed\.", data[0]) is not None,
          f"COPY answers COPYUID: {data}")
    typ, data = m.copy("1", "Nowhere")
    check(typ == "NO" and b"[TRYCREATE]" in data[0], f"COPY to a missing mailbox: NO [TRYCREATE]: {data}")
    typ, data = m.uid("MOVE", "3", "Drafts")
    check(typ == "OK", f"UID MOVE: {typ} {data}")
    check(m.untagged_responses.pop("EXPUNGE", None) == [b"3"], "MOVE expunges the moved message")
    typ, data = m.status("Trash", "(MESSAGES UIDNEXT UNSEEN)")
    check(data == [b"Trash (MESSAGES 2 UIDNEXT 3 UNSEEN 1)"], f"STATUS of the copies: {data}")
    typ, data = m.status("Drafts", "(MESSAGES UIDNEXT UNSEEN)")
    check(data == [b"Drafts (MESSAGES 1 UIDNEXT 2 UNSEEN 0)"], f"STATUS after MOVE: {data}")
    copies = [os.path.join(md, ".Trash", sub, n) for sub in ("new", "cur")
              for n in os.listdir(os.path.join(md, ".Trash", sub))]
    links = [os.stat(c).st_nlink for c in copies]
    check(len(copies) == 2 and all(n == 2 for n in links), f"COPY hard-links the files: {copies} {links}")
    # EXPUNGE
    m.store("1", "+FLAGS", "(\\Deleted)")
    typ, data = m.expunge()
    check(typ == "OK" and data == [b"1"], f"EXPUNGE says which message went: {data}")
    typ, data = m.fetch("1:*", "UID")
    check(data == [b"1 (UID 2)"], f"after EXPUNGE: {data}")
    # EXAMINE is read-only
    typ, data = m.select("Trash", readonly=True)
    check(typ == "OK" and data == [b"2"], f"EXAMINE Trash: {data}")
    typ, data = m.store("1", "+FLAGS", "(\\Deleted)")
    check(typ == "NO", f"STORE in a read-only mailbox is NO: {typ} {data}")
    typ, data = m.close()
    check(typ == "OK", "CLOSE")
    typ, data = m.select("Trash")
    m.store("1", "+FLAGS", "(\\Deleted)")
    typ, data = m.close()
    check(typ == "OK", "CLOSE expunges silently")
    typ, data = m.status("Trash", "(MESSAGES)")
    check(data == [b"Trash (MESSAGES 1)"], f"CLOSE expunged the \\Deleted message: {data}")
    m.logout()


def test_raw(home):
    md = os.path.join(home, "Maildir")
    r = Raw(home)
    # A synchronizing literal gets "+", LITERAL+ does not.
    r.send("l1 CREATE {5}\r\n")
    check(r.line().startswith("+"), "a synchronizing literal gets a continuation")
    r.send("Lit/a\r\n")
    check(r.until_tagged("l1") == ["l1 OK Create completed."], "CREATE with a literal name")
    check(r.cmd("l2", "CREATE {5+}\r\nLit/b") == ["l2 OK Create completed."], "LITERAL+ needs no continuation")
    # APPEND with a non-synchronizing literal, streamed.
    msg = SIMPLE.replace(b"hello", b"literal+")
    r.send(f"l3 APPEND Lit/a (\\Flagged) {{{len(msg)}+}}\r\n".encode() + msg + b"\r\n")
    lines = r.until_tagged("l3")
    check(re.match(r"l3 OK \[APPENDUID \d+ 1\] Append completed\.", lines[-1]) is not None, f"APPEND LITERAL+: {lines}")
    # An oversized literal is refused before it is sent; the session goes on.
    r.send("l4 APPEND INBOX {999999999999}\r\n")
    line = r.line()
    check(line.startswith("l4 NO [TOOBIG]") or line.startswith("l4 BAD"), f"an oversized literal is refused: {line}")
    check(r.cmd("l5", "NOOP") == ["l5 OK NOOP completed."], "the session survives the oversized literal")
    # Unterminated quoted string, deep nesting.
    lines = r.cmd("l6", 'SELECT "INBOX')
    check(lines[-1].startswith("l6 BAD"), f"an unterminated quoted string is BAD: {lines}")
    lines = r.cmd("l7", "FETCH 1 " + "(" * 500 + "FLAGS" + ")" * 500)
    check(lines[-1].startswith("l7 BAD"), f"500 levels of parentheses are BAD: {lines[-1]}")
    r.send("l8 NOOP " + "x" * 100000 + "\r\n")
    line = r.line()
    check(line.startswith("l8 BAD") or line.startswith("* BAD"), f"an over-long line is BAD: {line[:80]}")
    check(r.cmd("l9", "NOOP") == ["l9 OK NOOP completed."], "the session survives hostile input")
    # 1000 pipelined commands, answered in order.
    r.send("".join(f"p{i} NOOP\r\n" for i in range(1000)))
    tags = []
    deadline = time.monotonic() + 30
    while len(tags) < 1000 and time.monotonic() < deadline:
        line = r.line()
        tags.append(line.split()[0])
    check(tags == [f"p{i}" for i in range(1000)], "1000 pipelined commands are answered in order")
    # IDLE: a delivery shows up at once.
    lines = r.cmd("i1", "SELECT INBOX")
    exists = [l for l in lines if l.endswith(" EXISTS")][0]
    n = int(exists.split()[1])
    r.send("i2 IDLE\r\n")
    check(r.line() == "+ idling", "IDLE answers + idling")
    t0 = time.monotonic()
    deliver(md, SIMPLE.replace(b"hello", b"idle"))
    line = r.line(timeout=5)
    took = time.monotonic() - t0
    check(line == f"* {n + 1} EXISTS", f"a new message reaches the IDLE-ing session: {line}")
    check(took < 1.0, f"within a second: {took:.3f} s")
    check(r.line() == "* 1 RECENT", "with RECENT")
    r.send("DONE\r\n")
    check(r.until_tagged("i2") == ["i2 OK Idle completed."], "DONE ends IDLE")
    r.cmd("z", "LOGOUT")
    r.close()


def test_two_sessions(home):
    """Another session's STORE and EXPUNGE reach the first one, and
    sequence numbers only change when it is told."""
    a = Raw(home)
    b = Raw(home)
    a.cmd("a1", "SELECT Drafts")
    b.cmd("b1", "SELECT Drafts")
    b.cmd("b2", "STORE 1 +FLAGS (\\Flagged)")
    time.sleep(0.2)
    lines = a.cmd("a2", "NOOP")
    check(lines == ["* 1 FETCH (FLAGS (\\Seen \\Flagged \\Draft))", "a2 OK NOOP completed."] or
          (any("FETCH (FLAGS" in l and "\\Flagged" in l for l in lines)),
          f"another session's STORE shows as FETCH FLAGS: {lines}")
    b.cmd("b3", "STORE 1 +FLAGS (\\Deleted)")
    b.cmd("b4", "EXPUNGE")
    time.sleep(0.2)
    lines = a.cmd("a3", "FETCH 1 FLAGS")
    check(not any(l.endswith("EXPUNGE") for l in lines), f"no EXPUNGE during FETCH (RFC 3501 7.4.1): {lines}")
    lines = a.cmd("a4", "NOOP")
    check("* 1 EXPUNGE" in lines, f"the EXPUNGE comes with the next NOOP: {lines}")
    a.cmd("a5", "LOGOUT")
    b.cmd("b5", "LOGOUT")
    a.close()
    b.close()


def test_own_then_foreign_changes(home):
    """Our own STORE, APPEND and EXPUNGE leave the view proven current (the
    next command makes no rescan), yet a change by another imapd process or a
    delivery made right after ours (no pause) shows at our next command."""
    md = os.path.join(home, "Maildir")
    a = Raw(home)
    b = Raw(home)
    a.cmd("a0", "CREATE Busy")
    deliver(md, SIMPLE, ".Busy")
    deliver(md, SIMPLE, ".Busy")
    a.cmd("a1", "SELECT Busy")
    b.cmd("b1", "SELECT Busy")
    a.cmd("a2", "STORE 1 +FLAGS.SILENT (\\Flagged)")
    b.cmd("b2", "STORE 1 +FLAGS.SILENT (\\Answered)")  # right after ours
    lines = a.cmd("a3", "NOOP")
    check(any(re.match(r"\* 1 FETCH \(FLAGS \(.*\\Answered.*\)\)", l) and "\\Flagged" in l for l in lines),
          f"another process's STORE right after ours shows: {lines}")
    msg = b"From: a@example.org\r\nSubject: own\r\n\r\nmine\r\n"
    a.send(f"a4 APPEND Busy (\\Seen) {{{len(msg)}+}}\r\n".encode() + msg + b"\r\n")
    lines = a.until_tagged("a4")
    check(re.match(r"a4 OK \[APPENDUID \d+ 3\] Append completed\.", lines[-1]) is not None, f"APPEND: {lines}")
    lines = b.cmd("b3", "NOOP")
    check("* 3 EXISTS" in lines, f"the other process sees our APPEND: {lines}")
    b.cmd("b4", "UID STORE 3 +FLAGS.SILENT (\\Deleted)")  # right after it
    lines = a.cmd("a5", "NOOP")
    check(any(re.match(r"\* 3 FETCH \(FLAGS \(.*\\Deleted.*\)\)", l) for l in lines),
          f"the other process's flag on our APPEND shows: {lines}")
    lines = a.cmd("a6", "UID EXPUNGE 3")
    check("* 3 EXPUNGE" in lines, f"UID EXPUNGE: {lines}")
    deliver(md, SIMPLE, ".Busy")  # a delivery right after our EXPUNGE
    lines = a.cmd("a7", "NOOP")
    check("* 3 EXISTS" in lines, f"the delivery right after our EXPUNGE shows: {lines}")
    lines = b.cmd("b5", "NOOP")
    check("* 3 EXPUNGE" in lines and "* 3 EXISTS" in lines, f"the other process sees both: {lines}")
    lines = a.cmd("a8", "UID FETCH 1:* (FLAGS)")
    check(len([l for l in lines if " FETCH " in l]) == 3, f"three messages: {lines}")
    a.cmd("a9", "LOGOUT")
    b.cmd("b6", "LOGOUT")
    check(a.close() == 0 and b.close() == 0, "both imapd processes end well")


def test_big_folder(home):
    md = os.path.join(home, "Maildir")
    big = os.path.join(md, ".Big")
    m = imaplib_session(home)
    m.create("Big")
    for i in range(10000):
        data = (f"From: sender{i}@example.org\r\nSubject: message {i}\r\n\r\nbody {i}\r\n").encode()
        base = f"{1700000000 + i}.M{i}P2Q{i}.big,S={len(data)},W={len(data)}"
        with open(os.path.join(big, "new", base), "wb") as f:
            f.write(data)
    t0 = time.monotonic()
    typ, data = m.select("Big")
    took = time.monotonic() - t0
    check(typ == "OK" and data == [b"10000"], f"a 10,000-message folder opens: {data} in {took:.2f} s")
    typ, data = m.fetch("1:*", "(UID RFC822.SIZE)")
    check(len(data) == 10000 and data[-1] == b"10000 (UID 10000 RFC822.SIZE %d)" % len(
        b"From: sender9999@example.org\r\nSubject: message 9999\r\n\r\nbody 9999\r\n"), f"FETCH 1:* ({data[-1]})")
    typ, data = m.fetch("5000", "BODY.PEEK[HEADER.FIELDS (SUBJECT)]")
    check(data[0][1] == b"Subject: message 4999\r\n\r\n", f"a header of message 5000: {data}")
    typ, data = m.search(None, "SUBJECT", '"message 1234"')
    check(data == [b"1235"], f"SEARCH SUBJECT in 10,000 messages: {data}")
    typ, data = m.uid("SEARCH", "UID", "9990:*")
    check(data == [b" ".join(str(u).encode() for u in range(9990, 10001))], f"UID SEARCH 9990:*: {data}")
    m.logout()


def test_search_cache(home):
    """Header-key SEARCHes are answered from the folder's cache once it is
    built (no message file opened) and stay exact: after new mail arrives,
    after an EXPUNGE, and in another process that finds the cache built."""
    md = os.path.join(home, "Maildir")
    r = Raw(home)
    r.cmd("s0", "CREATE Searched")
    msg = lambda frm, subj: (f"From: {frm}\r\nTo: bob@example.test\r\nSubject: {subj}\r\n"
                             f"Date: Mon, 23 Nov 2026 06:00:00 +0000\r\n\r\nbody of {subj}\r\n").encode()
    deliver(md, msg("Alice <alice@example.org>", "quarterly report"), ".Searched")
    deliver(md, msg("Carol <carol@example.org>", "=?utf-8?q?r=C3=A9union?="), ".Searched")
    deliver(md, msg("alice@example.net", "lunch"), ".Searched")
    r.cmd("s1", "SELECT Searched")

    def search(tag, keys, want, session=r):
        lines = session.cmd(tag, "UID SEARCH " + keys)
        got = [l for l in lines if l.startswith("* SEARCH")]
        check(got == ["* SEARCH" + want] and lines[-1] == f"{tag} OK Search completed.",
              f"UID SEARCH {keys}: {lines}")

    search("s2", "FROM alice", " 1 3")  # builds the cache
    search("s3", "FROM alice", " 1 3")  # from it
    search("s4", "SUBJECT REUNION", "")
    search("s5", "SUBJECT \"union\"", " 2")
    search("s6", "OR FROM carol SUBJECT lunch", " 2 3")
    search("s7", "HEADER To bob NOT FROM alice", " 2")
    search("s8", "SENTON 23-Nov-2026 SUBJECT report", " 1")
    cur = os.path.join(md, ".Searched", "cur")
    new = os.path.join(md, ".Searched", "new")
    names = sorted(os.listdir(new)) + sorted(os.listdir(cur))
    check(len(names) == 3, f"three files: {names}")
    with open(os.path.join(md, ".Searched", "tern-index"), "rb") as f:
        check(b"S1 " in f.read(), "the search records are in the folder's index")
    # New mail: the next SEARCH sees it (computed and cached then).
    deliver(md, msg("Alice Again <alice@example.org>", "more"), ".Searched")
    r.cmd("s9", "NOOP")
    search("s10", "FROM alice", " 1 3 4")
    # EXPUNGE: gone from the answers.
    r.cmd("s11", "UID STORE 1 +FLAGS.SILENT (\\Deleted)")
    r.cmd("s12", "EXPUNGE")
    search("s13", "FROM alice", " 3 4")
    search("s14", "SUBJECT report", "")
    # Another process finds the cache built; a delivery it did not see.
    deliver(md, msg("Dave <dave@example.org>", "alice's party"), ".Searched")
    r2 = Raw(home)
    r2.cmd("t1", "SELECT Searched")
    search("t2", "FROM alice", " 3 4", r2)
    search("t3", "SUBJECT alice", " 5", r2)
    search("t4", "OR FROM dave SUBJECT union", " 2 5", r2)
    # And a TEXT search (not from the cache) agrees.
    search("t5", "TEXT \"body of lunch\"", " 3", r2)
    # Another session's EXPUNGE reaches the first one's SEARCH after a NOOP.
    r2.cmd("t6", "UID STORE 3 +FLAGS.SILENT (\\Deleted)")
    r2.cmd("t7", "UID EXPUNGE 3")
    time.sleep(0.2)
    r.cmd("s15", "NOOP")
    search("s16", "FROM alice", " 4")
    r2.cmd("t8", "LOGOUT")
    r.cmd("s17", "LOGOUT")
    check(r2.close() == 0 and r.close() == 0, "both imapd processes end well")


def test_deep_mime(home):
    """A 500-level nested MIME message: BODYSTRUCTURE answers, bounded."""
    md = os.path.join(home, "Maildir")
    head = b"From: x@example.org\r\nSubject: deep\r\nMIME-Version: 1.0\r\n"
    body = b""
    for i in range(500):
        body += f"Content-Type: multipart/mixed; boundary=\"b{i}\"\r\n\r\n--b{i}\r\n".encode()
    body += b"Content-Type: text/plain\r\n\r\ninnermost\r\n"
    for i in reversed(range(500)):
        body += f"--b{i}--\r\n".encode()
    deliver(md, head + body, ".Junk")
    r = Raw(home)
    r.cmd("d1", "SELECT Junk")
    lines = r.cmd("d2", "FETCH 1 (BODYSTRUCTURE BODY[1.1.1])", timeout=20)
    check(lines[-1] == "d2 OK Fetch completed." and lines[0].startswith("* 1 FETCH (BODYSTRUCTURE ("),
          f"BODYSTRUCTURE of a 500-level nesting: {lines[0][:120]} ... {lines[-1]}")
    check(r.cmd("d3", "NOOP") == ["d3 OK NOOP completed."], "the session goes on after it")
    r.cmd("d4", "LOGOUT")
    check(r.close() == 0, "imapd is alive to the end")


def main():
    root = tempfile.mkdtemp(prefix="tern-imap.")
    try:
        home = os.path.join(root, "home")
        os.makedirs(home)
        test_any_state(home)
        test_mailboxes(home)
        test_select_fetch(home)
        test_raw(home)
        test_two_sessions(home)
        test_own_then_foreign_changes(home)
        test_search_cache(home)
        test_deep_mime(home)
        test_big_folder(home)
    finally:
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
