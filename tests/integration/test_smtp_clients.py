"""smtpd against the command-line SMTP clients administrators test with:
swaks and curl, on port 25 (plain and STARTTLS), 587 (STARTTLS + AUTH) and
465 (implicit TLS + AUTH). Each accepted message must show up in mailq
(`ternqueue -p` and -j) and in terncat with the exact envelope, and its
bytes must be what the client sent plus only the header fields the cleanup
step adds (Received: always; Message-ID: and Date: on submission when the
message has none). Refusals (relaying, unknown user, AUTH before TLS) give
the exact reply codes and the next client is still served."""
import json
import re
import os
import shutil
import subprocess
import tempfile

from tern_harness import HOLD_MAIL, BIN, Suite, check, fail, skip, wait_for

MESSAGE = (b"From: Alice <alice@example.org>\r\n"
           b"To: Demo <demo@example.test>\r\n"
           b"Subject: from a client\r\n"
           b"Date: Sun, 22 Nov 2026 10:00:00 +0000\r\n"
           b"Message-ID: <client-test-%d@example.org>\r\n"
           b"MIME-Version: 1.0\r\n"
           b"Content-Type: text/plain; charset=utf-8\r\n"
           b"Content-Transfer-Encoding: 8bit\r\n"
           b"\r\n"
           b"Line one.\r\n"
           b".A line that starts with a dot.\r\n"
           b"Gr\xc3\xbc\xc3\x9fe, 8-bit text.\r\n")


def run(argv, timeout=60):
    return subprocess.run(argv, capture_output=True, timeout=timeout)


def queue_json(suite):
    r = run([os.path.join(BIN, "ternqueue"), "-c", suite.dir, "-j"])
    if r.returncode != 0:
        fail(f"ternqueue -j: {r.stderr!r}")
    return [json.loads(line) for line in r.stdout.decode().splitlines() if line.strip()]


def entry_for(suite, message_id):
    """The mailq entry and the stored message of the message with this
    Message-ID (smtpd's reply names the queue ID, but swaks and curl print it
    in different places; the Message-ID is ours)."""
    def look():
        for e in queue_json(suite):
            body = stored_message(suite, e["queue_id"])
            if body is not None and message_id.encode() in body:
                return e, body
        return None
    found = wait_for(look, timeout=5)
    if not found:
        fail(f"no queued message with {message_id!r}")
    return found


def stored_message(suite, qid):
    r = run([os.path.join(BIN, "terncat"), "-c", suite.dir, "-r", qid])
    if r.returncode != 0:
        return None
    out = r.stdout
    start = out.find(b"*** MESSAGE CONTENTS")
    end = out.find(b"*** MESSAGE FILE END")
    if start < 0 or end < 0:
        fail(f"terncat output has no message markers: {out[:300]!r}")
    start = out.index(b"\n", start) + 1
    return out[start:end]


def split_received(stored):
    """(the Received: field the cleanup step prepended, the rest)."""
    if not stored.startswith(b"Received: "):
        fail(f"the stored message does not start with Received: {stored[:200]!r}")
    i = 0
    lines = stored.split(b"\r\n")
    n = 1
    while n < len(lines) and lines[n][:1] in (b" ", b"\t"):
        n += 1
    head = b"\r\n".join(lines[:n]) + b"\r\n"
    i = len(head)
    return head, stored[i:]


def check_exact(suite, label, message, sender, recipients, sasl=None, tls=False):
    msgid = message.split(b"Message-ID: <")[1].split(b">")[0].decode()
    e, stored = entry_for(suite, msgid)
    check(e["sender"] == sender, f"{label}: mailq shows the envelope sender {e['sender']!r}")
    got = sorted(r["address"] for r in e["recipients"])
    check(got == sorted(recipients), f"{label}: mailq shows the recipients {got}")
    received, rest = split_received(stored)
    check(rest == message, f"{label}: the stored bytes are the sent bytes plus Received: only")
    with_ = b"with ESMTP" + (b"S" if tls else b"") + (b"A" if sasl else b"")
    check(with_ + b" id " + e["queue_id"].encode() in received,
          f"{label}: Received: says {with_.decode()} and the queue ID: {received!r}")
    r = run([os.path.join(BIN, "terncat"), "-c", suite.dir, "-e", e["queue_id"]])
    env = r.stdout.decode()
    check(f"sender: {sender}\n" in env, f"{label}: terncat shows the sender")
    for rcpt in recipients:
        check(f"recipient: {rcpt}\n" in env, f"{label}: terncat shows recipient {rcpt}")
    if sasl:
        check(f"sasl_username={sasl}" in env, f"{label}: terncat shows the SASL login {sasl}")
    line = f"{e['queue_id']}: message-id=<{msgid}>"
    check(wait_for(lambda: line in suite.log_text()), f"{label}: the log has {line}")
    mailq = run([os.path.join(BIN, "ternqueue"), "-c", suite.dir, "-p"]).stdout.decode()
    check(e["queue_id"] in mailq and sender in mailq, f"{label}: ternqueue -p lists it")
    return e["queue_id"]


def write_message(tmp, n, for_swaks=False):
    """The file to send and the bytes the server must receive. swaks ends
    the data it sends with CRLF "." CRLF, so its file leaves out the last
    line end; curl sends the file as it is."""
    path = os.path.join(tmp, f"msg{n}.eml")
    data = MESSAGE % n
    with open(path, "wb") as f:
        f.write(data[:-2] if for_swaks else data)
    return path, data


def swaks(suite, port, *extra, data=None):
    argv = ["swaks", "--server", f"127.0.0.1:{port}", "--helo", "client.example.org",
            "--timeout", "20", *extra]
    if data:
        argv += ["--data", data]
    return run(argv)


def test_swaks(suite, tmp):
    path, data = write_message(tmp, 1, for_swaks=True)
    r = swaks(suite, suite.port(25), "--from", "alice@example.org", "--to", suite.user, data=path)
    check(r.returncode == 0, f"swaks on 25: exit {r.returncode}")
    check(b"<-  250 2.0.0 Ok: queued as " in r.stdout, "swaks saw 250 2.0.0 queued")
    check_exact(suite, "swaks 25", data, "alice@example.org", [suite.user])

    path, data = write_message(tmp, 2, for_swaks=True)
    r = swaks(suite, suite.port(25), "--tls", "--from", "alice@example.org", "--to", suite.user, data=path)
    check(r.returncode == 0, f"swaks STARTTLS on 25: exit {r.returncode}")
    check_exact(suite, "swaks STARTTLS 25", data, "alice@example.org", [suite.user], tls=True)

    path, data = write_message(tmp, 3, for_swaks=True)
    r = swaks(suite, suite.port(587), "--tls", "--auth", "PLAIN", "--auth-user", suite.user,
              "--auth-password", suite.password, "--from", suite.user, "--to",
              "someone@elsewhere.example,other@elsewhere.example", data=path)
    check(r.returncode == 0, f"swaks 587 STARTTLS + AUTH PLAIN relays: exit {r.returncode}")
    check_exact(suite, "swaks 587", data, suite.user, ["someone@elsewhere.example", "other@elsewhere.example"],
                sasl=suite.user, tls=True)

    path, data = write_message(tmp, 4, for_swaks=True)
    r = swaks(suite, suite.port(465), "--tlsc", "--auth", "LOGIN", "--auth-user", suite.user,
              "--auth-password", suite.password, "--from", suite.user, "--to", "someone@elsewhere.example",
              data=path)
    check(r.returncode == 0, f"swaks 465 implicit TLS + AUTH LOGIN: exit {r.returncode}")
    check_exact(suite, "swaks 465", data, suite.user, ["someone@elsewhere.example"], sasl=suite.user, tls=True)

    # Refusals, each followed by a client that is served.
    r = swaks(suite, suite.port(25), "--from", "alice@example.org", "--to", "victim@elsewhere.example")
    check(r.returncode != 0 and b"<** 554 5.7.1" in r.stdout, "swaks relay attempt on 25: 554 5.7.1")
    r = swaks(suite, suite.port(25), "--from", "alice@example.org", "--to", "nobody-here@example.test")
    check(r.returncode != 0 and b"<** 550 5.1.1" in r.stdout, "swaks unknown local user: 550 5.1.1")
    # 587 offers no AUTH before STARTTLS (swaks then refuses by itself), and
    # MAIL without TLS and login is refused.
    r = swaks(suite, suite.port(587), "--from", suite.user, "--to", "someone@elsewhere.example")
    check(r.returncode != 0 and b"<** 530 5.7.0" in r.stdout, "swaks MAIL before TLS/AUTH on 587: 530 5.7.0")
    r = swaks(suite, suite.port(587), "--tls", "--from", suite.user, "--to", "someone@elsewhere.example")
    check(r.returncode != 0 and re.search(rb"<~?\*+ 530 5.7.0", r.stdout), "swaks MAIL after TLS, before AUTH on 587: 530 5.7.0")
    r = swaks(suite, suite.port(587), "--tls", "--auth", "PLAIN", "--auth-user", suite.user,
              "--auth-password", "wrong", "--from", suite.user, "--to", "someone@elsewhere.example")
    check(r.returncode != 0 and re.search(rb"<~?\*+ 535 5.7.8", r.stdout), "swaks wrong password: 535 5.7.8")
    path, data = write_message(tmp, 5, for_swaks=True)
    r = swaks(suite, suite.port(25), "--from", "<>", "--to", suite.user, data=path)
    check(r.returncode == 0, "after the refusals the next client is served (null sender)")
    check_exact(suite, "swaks null sender", data, "", [suite.user])


def curl(*args):
    return run(["curl", "--silent", "--show-error", "--max-time", "30", *args])


def test_curl(suite, tmp):
    path, data = write_message(tmp, 11)
    r = curl(f"smtp://127.0.0.1:{suite.port(25)}/client.example.org", "--mail-from", "alice@example.org",
             "--mail-rcpt", suite.user, "--upload-file", path)
    check(r.returncode == 0, f"curl smtp:// on 25: exit {r.returncode} {r.stderr!r}")
    check_exact(suite, "curl 25", data, "alice@example.org", [suite.user])

    path, data = write_message(tmp, 12)
    r = curl(f"smtp://127.0.0.1:{suite.port(587)}/client.example.org", "--ssl-reqd", "--insecure",
             "--user", f"{suite.user}:{suite.password}", "--mail-from", suite.user,
             "--mail-rcpt", "someone@elsewhere.example", "--upload-file", path)
    check(r.returncode == 0, f"curl 587 --ssl-reqd with AUTH: exit {r.returncode} {r.stderr!r}")
    check_exact(suite, "curl 587", data, suite.user, ["someone@elsewhere.example"], sasl=suite.user, tls=True)

    path, data = write_message(tmp, 13)
    r = curl(f"smtps://127.0.0.1:{suite.port(465)}/client.example.org", "--insecure",
             "--user", f"{suite.user}:{suite.password}", "--mail-from", suite.user,
             "--mail-rcpt", "someone@elsewhere.example", "--upload-file", path)
    check(r.returncode == 0, f"curl smtps:// on 465 with AUTH: exit {r.returncode} {r.stderr!r}")
    check_exact(suite, "curl 465", data, suite.user, ["someone@elsewhere.example"], sasl=suite.user, tls=True)

    r = curl(f"smtp://127.0.0.1:{suite.port(25)}/client.example.org", "--mail-from", "alice@example.org",
             "--mail-rcpt", "victim@elsewhere.example", "--upload-file", path)
    check(r.returncode != 0 and b"554" in r.stderr, f"curl relay attempt refused: {r.stderr!r}")

    # A message without Message-ID and Date on submission gets both, and
    # nothing else changes.
    bare = b"From: demo@example.test\r\nTo: someone@elsewhere.example\r\nSubject: bare\r\n\r\nbody\r\n"
    path = os.path.join(tmp, "bare.eml")
    with open(path, "wb") as f:
        f.write(bare)
    before = {e["queue_id"] for e in queue_json(suite)}
    r = curl(f"smtps://127.0.0.1:{suite.port(465)}/client.example.org", "--insecure",
             "--user", f"{suite.user}:{suite.password}", "--mail-from", suite.user,
             "--mail-rcpt", "someone@elsewhere.example", "--upload-file", path)
    check(r.returncode == 0, f"curl: a message without Message-ID/Date: exit {r.returncode}")
    new = wait_for(lambda: [e for e in queue_json(suite) if e["queue_id"] not in before])
    if not new:
        fail("the bare message is not in the queue")
    _, rest = split_received(stored_message(suite, new[0]["queue_id"]))
    header, _, body = rest.partition(b"\r\n\r\n")
    fields = header.split(b"\r\n")
    added = [f for f in fields if f + b"\r\n" not in bare]
    names = sorted(f.split(b":")[0].lower() for f in added)
    check(names == [b"date", b"message-id"], f"submission added only Date: and Message-ID: {added!r} {rest!r}")
    check(body == b"body\r\n", "and the body is untouched")


def main():
    for tool in ("swaks", "curl"):
        if not shutil.which(tool):
            skip(f"{tool} is not installed (./dev.sh test installs it)")
    suite = Suite({"smtpd_timeout": "10s", **HOLD_MAIL})
    tmp = tempfile.mkdtemp(prefix="tern-clients.")
    try:
        suite.start()
        test_swaks(suite, tmp)
        test_curl(suite, tmp)
        suite.stop()
    finally:
        suite.cleanup()
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
