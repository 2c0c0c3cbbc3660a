"""smtpd's TLS and AUTH against real clients (Python's smtplib and ssl, raw
sockets where the exact bytes matter, openssl s_client): STARTTLS on 25
(RFC 3207, plain text pipelined after it is thrown away), submission on 587
(RFC 6409: TLS before AUTH, AUTH before MAIL, the sender must be the user's),
implicit TLS on 465 (RFC 8314), TLS 1.2 as the floor; the queue file records
the SASL login and the Received: field the TLS details, as Postfix writes them."""
import base64
import os
import re
import shutil
import smtplib
import socket
import ssl
import subprocess
import time

from smtp_client import Raw, client_context, expect
from tern_harness import Suite, check, fail, wait_for


def plain(user, password):
    return base64.b64encode(b"\0" + user.encode() + b"\0" + password.encode()).decode()


def find_queue_file(suite, qid):
    """The file may still be in incoming/ or already in active/ (qmgr)."""
    def look():
        for q in ("incoming", "active", "deferred", "hold"):
            files = suite.queue_files(q)
            if qid in files:
                return files[qid]
        return None
    data = None
    if not wait_for(lambda: look() is not None, timeout=5):
        fail(f"queue file {qid} not found")
    data = look()
    return data


MSG = b"From: demo@example.test\r\nTo: someone@elsewhere.example\r\nSubject: tls\r\n\r\nhello over TLS\r\n"


def test_port25_starttls(suite):
    s = smtplib.SMTP("127.0.0.1", suite.port(25), timeout=10)
    code, caps = s.ehlo("client.example.org")
    check(code == 250 and b"STARTTLS" in caps, f"EHLO on 25 offers STARTTLS: {caps!r}")
    check(b"AUTH" not in caps, "and no AUTH before TLS")
    code, text = s.starttls(context=client_context())
    check(code == 220, f"STARTTLS: {code} {text!r}")
    version = s.sock.version()
    check(version in ("TLSv1.2", "TLSv1.3"), f"TLS is on: {version} {s.sock.cipher()}")
    code, caps = s.ehlo("client.example.org")
    check(code == 250 and b"STARTTLS" not in caps, f"EHLO after TLS no longer offers STARTTLS: {caps!r}")
    check(b"AUTH" not in caps, "AUTH is not offered on 25 (smtpd_sasl_auth_enable = no there)")
    code, text = s.docmd("AUTH", "PLAIN " + plain(suite.user, suite.password))
    check(code == 503 and text.startswith(b"5.5.1"), f"AUTH on 25: {code} {text!r}")
    code, text = s.docmd("STARTTLS")
    check(code == 554 and text.startswith(b"5.5.1"), f"a second STARTTLS: {code} {text!r}")
    check(s.mail("alice@example.org")[0] == 250, "MAIL over TLS")
    r = s.rcpt("someone@elsewhere.example")
    check(r[0] == 554 and r[1].startswith(b"5.7.1"), f"TLS alone does not allow relaying: {r}")
    check(s.rcpt("demo@example.test")[0] == 250, "a local recipient")
    code, text = s.data(MSG)
    check(code == 250, f"DATA over TLS: {code} {text!r}")
    qid = text.split()[-1].decode()
    s.quit()
    data = find_queue_file(suite, qid)
    head, rest = data.split(b"EOE\n", 1)
    check(b"protocol ESMTPS\n" in head, f"the queue file says ESMTPS: {head!r}")
    check(b"sasl_username" not in head, "and has no SASL login")
    first = rest.split(b"\r\nFrom: ")[0].decode()
    check(re.match(r"Received: from client\.example\.org \(unknown \[127\.0\.0\.1\]\)\r\n"
                   r"\t\(using TLSv1\.[23] with cipher \S+ \(\d+/\d+ bits\)"
                   r"(\r\n\t key-exchange \S+ server-signature ECDSA \(256 bits\) server-digest SHA256)?\)\r\n"
                   r"\t\(No client certificate requested\)\r\n"
                   r"\tby mail\.example\.test \(Tern\) with ESMTPS id " + qid + r"\r\n"
                   r"\tfor <demo@example\.test>; ", first) is not None,
          f"Received: carries the TLS details as Postfix writes them:\n{first}")
    check(wait_for(lambda: "Anonymous TLS connection established from unknown[127.0.0.1]: TLSv1." in suite.log_text()),
          "the log says which TLS was negotiated")


def test_starttls_injection(suite):
    c = Raw(suite.port(25))
    c.ehlo()
    # RFC 3207 5 / CVE-2011-0411: a command pipelined after STARTTLS in the
    # same packet must never run, neither before nor after the handshake.
    c.send(b"STARTTLS\r\nMAIL FROM:<injected@example.org>\r\n")
    expect(c.reply(), 220, "2.0.0", "STARTTLS with a command behind it")
    time.sleep(0.3)
    check(c.buf == b"", f"no reply to the injected MAIL in plain text: {c.buf!r}")
    c.sock = client_context().wrap_socket(c.sock)
    caps = c.ehlo()
    check("STARTTLS" not in caps, f"EHLO after TLS: {caps}")
    # Had the injected MAIL run, this would be "503 nested MAIL".
    expect(c.cmd("MAIL FROM:<alice@example.org>"), 250, "2.1.0", "MAIL after the handshake is the first MAIL")
    expect(c.cmd("QUIT"), 221, "2.0.0", "QUIT")
    c.close()
    check(wait_for(lambda: "plain text pipelined after STARTTLS" in suite.log_text()),
          "the discarded plain text is logged")
    check("injected@example.org" not in suite.log_text(), "the injected sender appears nowhere")
    # A session resets after STARTTLS (RFC 3207 4.2): no MAIL carried over.
    c = Raw(suite.port(25))
    c.ehlo()
    expect(c.cmd("MAIL FROM:<alice@example.org>"), 250, "2.1.0", "MAIL before STARTTLS")
    c.starttls()
    c.ehlo()
    expect(c.cmd("RCPT TO:<demo@example.test>"), 503, "5.5.1", "RCPT after STARTTLS: the old MAIL is forgotten")
    c.close()


def test_tls_pipelining(suite):
    """Many pipelined commands over STARTTLS, replies unread until the end:
    the server holds back (its output limit) and then answers every one."""
    c = Raw(suite.port(25))
    c.ehlo()
    c.starttls()
    c.ehlo()
    n = 20000
    for _ in range(n // 2000):
        c.send(b"NOOP\r\n" * 2000)
    got = 0
    while got < n:
        code, text = c.reply()
        if code != 250:
            fail(f"reply {got + 1} to pipelined NOOPs: {code} {text}")
        got += 1
    check(got == n, f"all {n} pipelined NOOPs over TLS were answered")
    # A whole transaction and the next one in one write (RFC 2920): the
    # commands after the end of data run after the message is queued, in
    # order, and the new MAIL survives the end of the old transaction.
    c.send(b"MAIL FROM:<alice@example.org>\r\nRCPT TO:<demo@example.test>\r\nDATA\r\n")
    expect(c.reply(), 250, "2.1.0", "pipelined MAIL")
    expect(c.reply(), 250, "2.1.5", "pipelined RCPT")
    expect(c.reply(), 354, "", "pipelined DATA")
    c.send(b"Subject: pipelined\r\n\r\nbody\r\n.\r\nMAIL FROM:<bob@example.org>\r\nRCPT TO:<demo@example.test>\r\n"
           b"RSET\r\nRCPT TO:<demo@example.test>\r\n")
    expect(c.reply(), 250, "2.0.0 Ok: queued as", "the message over TLS")
    expect(c.reply(), 250, "2.1.0", "the MAIL pipelined behind the end of data")
    expect(c.reply(), 250, "2.1.5", "its RCPT: the MAIL was not lost when the old transaction ended")
    expect(c.reply(), 250, "2.0.0", "RSET")
    expect(c.reply(), 503, "5.5.1", "RCPT after RSET")
    expect(c.cmd("QUIT"), 221, "2.0.0", "QUIT over TLS gets its reply before the close")
    check_close_notify(c, "after STARTTLS")
    c.close()
    # Implicit TLS too.
    c = Raw(suite.port(465), tls=True)
    expect(c.cmd("QUIT"), 221, "2.0.0", "QUIT on 465")
    check_close_notify(c, "on 465")
    c.close()


def check_close_notify(c, where):
    """RFC 8446 6.1: the server sends close_notify before it closes, so the
    client reads a clean end of the TLS stream, not a truncation."""
    c.sock.suppress_ragged_eofs = False  # a truncation raises instead of reading as b""
    try:
        data = c.sock.recv(100)
    except ssl.SSLEOFError as e:
        fail(f"{where}: the server closed without close_notify ({e})")
    check(data == b"", f"{where}: a clean TLS end after 221: {data!r}")


def test_submission(suite):
    port = suite.port(587)
    c = Raw(port)
    caps = c.ehlo()
    check("STARTTLS" in caps and not any(x.startswith("AUTH") for x in caps),
          f"587 before TLS: STARTTLS, no AUTH: {caps}")
    expect(c.cmd("MAIL FROM:<demo@example.test>"), 530, "5.7.0", "MAIL before STARTTLS")
    r = c.cmd("AUTH PLAIN " + plain(suite.user, suite.password))
    check(r[0] in (530, 538) and r[1].startswith(("5.7.0", "5.7.11")), f"AUTH before STARTTLS: {r}")
    check("STARTTLS" in r[1] or "Encryption" in r[1], f"and says why: {r}")
    c.starttls()
    caps = c.ehlo()
    check("AUTH PLAIN LOGIN" in caps and "STARTTLS" not in caps, f"587 after TLS offers AUTH PLAIN LOGIN: {caps}")
    r = c.cmd("MAIL FROM:<demo@example.test>")
    check(r == (530, "5.7.0 Authentication required"), f"MAIL before AUTH: {r}")
    expect(c.cmd("AUTH CRAM-MD5"), 504, "5.5.4", "an unknown mechanism")
    expect(c.cmd("AUTH PLAIN !!!notbase64"), 501, "5.5.2", "bad base64")
    t0 = time.monotonic()
    r = c.cmd("AUTH PLAIN " + plain(suite.user, "wrong-password"))
    took = time.monotonic() - t0
    check(r == (535, "5.7.8 Error: authentication failed"), f"a wrong password: {r}")
    check(took >= 1.0, f"the failure is delayed by authd ({took:.2f}s)")
    expect(c.cmd("NOOP"), 250, "2.0.0", "the session goes on after a failed AUTH")
    # PLAIN without an initial response: 334 and an empty challenge.
    r = c.cmd("AUTH PLAIN")
    check(r == (334, ""), f"AUTH PLAIN without initial response: {r}")
    expect(c.cmd("*"), 501, "5.7.0", "the client aborts with *")
    # LOGIN: two challenges relayed from authd.
    r = c.cmd("AUTH LOGIN")
    check(r[0] == 334 and base64.b64decode(r[1]).lower().startswith(b"username"), f"LOGIN asks for the user: {r}")
    r = c.cmd(base64.b64encode(suite.user.encode()).decode())
    check(r[0] == 334 and base64.b64decode(r[1]).lower().startswith(b"password"), f"then the password: {r}")
    r = c.cmd(base64.b64encode(suite.password.encode()).decode())
    check(r == (235, "2.7.0 Authentication successful"), f"AUTH LOGIN with the right password: {r}")
    expect(c.cmd("AUTH PLAIN " + plain(suite.user, suite.password)), 503, "5.5.1", "AUTH twice")
    r = c.cmd("MAIL FROM:<someone.else@example.test>")
    check(r[0] == 553 and r[1].startswith("5.7.1") and "Sender address rejected: not owned by user" in r[1],
          f"MAIL FROM an address the user does not own: {r}")
    r = c.cmd("MAIL FROM:<postmaster@example.test>")
    check(r[0] == 553, f"nor postmaster's: {r}")
    expect(c.cmd("MAIL FROM:<demo+lists@example.test>"), 250, "2.1.0", "the user's own address with an extension")
    expect(c.cmd("RSET"), 250, "2.0.0", "RSET")
    expect(c.cmd("MAIL FROM:<>"), 250, "2.1.0", "the null sender")
    expect(c.cmd("RSET"), 250, "2.0.0", "RSET")
    c.close()

    # smtplib end to end: STARTTLS, AUTH PLAIN, relay to another domain.
    s = smtplib.SMTP("127.0.0.1", port, timeout=10)
    s.ehlo("client.example.org")
    s.starttls(context=client_context())
    s.ehlo("client.example.org")
    try:
        s.login(suite.user, "wrong")
        fail("smtplib.login with a wrong password succeeded")
    except smtplib.SMTPAuthenticationError as e:
        check(e.smtp_code == 535, f"smtplib sees 535 for a wrong password: {e.smtp_code} {e.smtp_error!r}")
    code, text = s.login(suite.user, suite.password)
    check(code == 235, f"smtplib.login: {code} {text!r}")
    code, text = s.mail("Demo@Example.TEST")
    check(code == 250, f"the user's address in another case: {code} {text!r}")
    r = s.rcpt("someone@elsewhere.example")
    check(r[0] == 250, f"an authenticated client may relay (permit_sasl_authenticated): {r}")
    code, text = s.data(MSG)
    check(code == 250, f"DATA: {code} {text!r}")
    qid = text.split()[-1].decode()
    s.quit()
    data = find_queue_file(suite, qid)
    head, rest = data.split(b"EOE\n", 1)
    check(b"sasl_method PLAIN\n" in head and f"sasl_username {suite.user}\n".encode() in head,
          f"the queue file records the SASL method and login: {head!r}")
    check(b"protocol ESMTPSA\n" in head, "and the protocol ESMTPSA")
    first = rest.split(b"\r\nFrom: ")[0].decode()
    check("\t(using TLSv1." in first and "\t(No client certificate requested)\r\n" in first and
          f"\tby mail.example.test (Tern) with ESMTPSA id {qid}\r\n\tfor <someone@elsewhere.example>; " in first,
          f"Received: says ESMTPSA with the TLS details:\n{first}")
    # Log lines reach the file through master, a moment later.
    wait_for(lambda: f"{qid}: client=" in suite.log_text() and "SASL PLAIN authentication failed" in suite.log_text())
    log = suite.log_text()
    check(f"{qid}: client=unknown[127.0.0.1], sasl_method=PLAIN, sasl_username={suite.user}" in log,
          "the message's client= log line names the SASL login, as Postfix's does")
    check("SASL PLAIN authentication failed" in log, "and the failures, as fail2ban expects")


def test_smtps(suite):
    port = suite.port(465)
    s = smtplib.SMTP_SSL("127.0.0.1", port, timeout=10, context=client_context())
    code, caps = s.ehlo("client.example.org")
    check(code == 250 and b"AUTH PLAIN LOGIN" in caps and b"STARTTLS" not in caps,
          f"465: implicit TLS, AUTH offered at once, no STARTTLS: {caps!r}")
    code, text = s.docmd("STARTTLS")
    check(code == 502, f"STARTTLS on 465: {code} {text!r}")
    code, text = s.docmd("MAIL FROM:<demo@example.test>")
    check(code == 530 and text == b"5.7.0 Authentication required", f"MAIL before AUTH on 465: {code} {text!r}")
    check(s.login(suite.user, suite.password)[0] == 235, "AUTH on 465")
    check(s.mail(suite.user)[0] == 250, "MAIL")
    check(s.rcpt("friend@elsewhere.example")[0] == 250, "RCPT to another domain")
    code, text = s.data(MSG)
    check(code == 250, f"DATA on 465: {code} {text!r}")
    qid = text.split()[-1].decode()
    s.quit()
    data = find_queue_file(suite, qid)
    check(b"protocol ESMTPSA\n" in data and f"with ESMTPSA id {qid}".encode() in data, "queued as ESMTPSA")
    # A client speaking plain SMTP to 465 gets nothing it could read as SMTP.
    raw = socket.create_connection(("127.0.0.1", port), timeout=5)
    raw.sendall(b"EHLO plain.example.org\r\n")
    try:
        data = raw.recv(4096)
    except (ConnectionResetError, socket.timeout):
        data = b""
    raw.close()
    check(not data.startswith(b"220") and not data.startswith(b"250"), f"plain text on 465 gets no SMTP: {data!r}")


def test_tls_minimum(suite):
    port = suite.port(465)
    # TLS 1.2 is accepted.
    s = smtplib.SMTP_SSL("127.0.0.1", port, timeout=10, context=client_context(ssl.TLSVersion.TLSv1_2))
    check(s.sock.version() == "TLSv1.2", f"a TLS 1.2 client is served: {s.sock.version()}")
    s.quit()
    # TLS 1.1 is refused by the server (the client is made willing).
    refused = False
    if shutil.which("openssl"):
        r = subprocess.run(["openssl", "s_client", "-connect", f"127.0.0.1:{port}", "-tls1_1",
                            "-cipher", "DEFAULT:@SECLEVEL=0"], input=b"QUIT\r\n", capture_output=True, timeout=20)
        out = (r.stdout + r.stderr).decode(errors="replace")
        refused = r.returncode != 0 and "220 " not in out
        check(refused, f"openssl s_client -tls1_1 is refused: rc={r.returncode} {out[-400:]}")
    try:
        s = smtplib.SMTP_SSL("127.0.0.1", port, timeout=10, context=client_context(ssl.TLSVersion.TLSv1_1))
        fail(f"a TLS 1.1 client was served: {s.sock.version()}")
    except (ssl.SSLError, ConnectionResetError, smtplib.SMTPServerDisconnected) as e:
        check(True, f"python with maximum_version TLSv1_1 is refused: {e}")
    check(wait_for(lambda: re.search(r"SSL_accept error from unknown\[127\.0\.0\.1\]: .*(unsupported protocol|"
                                     r"version too low|no protocols available)", suite.log_text())),
          "the server refused it, and the log carries OpenSSL's reason")
    check("lib(0)" not in suite.log_text(), "and only real OpenSSL errors (not libevent's SSL_get_error codes)")
    # The same for STARTTLS on 25.
    c = Raw(suite.port(25))
    c.ehlo()
    expect(c.cmd("STARTTLS"), 220, "2.0.0", "STARTTLS")
    try:
        client_context(ssl.TLSVersion.TLSv1_1).wrap_socket(c.sock)
        fail("a TLS 1.1 STARTTLS handshake succeeded")
    except (ssl.SSLError, ConnectionResetError, OSError) as e:
        check(True, f"TLS 1.1 after STARTTLS is refused: {e}")
    s = smtplib.SMTP_SSL("127.0.0.1", port, timeout=10, context=client_context())
    check(s.noop()[0] == 250, "and the server still answers the next client")
    s.quit()


def server_cert(port):
    with socket.create_connection(("127.0.0.1", port), timeout=10) as raw:
        with client_context().wrap_socket(raw) as tls:
            return tls.getpeercert(binary_form=True)


def test_certificate_renewal(suite):
    """A renewed certificate makes smtpd finish and master start one that
    presents it; clients in between are served all along."""
    if not shutil.which("openssl"):
        print("skipped: certificate renewal needs the openssl command")
        return
    port = suite.port(465)
    before = server_cert(port)
    tls_dir = os.path.join(suite.dir, "tls")
    new_cert, new_key = os.path.join(suite.tmp, "new-cert.pem"), os.path.join(suite.tmp, "new-key.pem")
    r = subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
                        "-keyout", new_key, "-out", new_cert, "-days", "2", "-subj", "/CN=renewed.example.test"],
                       capture_output=True, timeout=30)
    check(r.returncode == 0, f"openssl made a new certificate: {r.stderr[-300:]!r}")
    # The key first, then the certificate, each replaced atomically as
    # certbot's deploy hooks do.
    for src, name in ((new_key, "key.pem"), (new_cert, "cert.pem")):
        shutil.copy(src, os.path.join(tls_dir, name + ".tmp"))
        os.rename(os.path.join(tls_dir, name + ".tmp"), os.path.join(tls_dir, name))
    seen = []

    def renewed():
        try:
            cert = server_cert(port)
        except (OSError, ssl.SSLError) as e:
            seen.append(repr(e))
            return False
        return cert != before
    check(wait_for(renewed, timeout=15, step=0.3), f"a new connection gets the renewed certificate ({seen[-3:]})")
    s = smtplib.SMTP_SSL("127.0.0.1", port, timeout=10, context=client_context())
    check(s.login(suite.user, suite.password)[0] == 235, "and AUTH still works after the restart")
    s.quit()


def test_sender_login_maps(make_suite):
    """An explicit smtpd_sender_login_maps table replaces the default."""
    suite = make_suite()
    table = os.path.join(suite.dir, "sender_logins")
    with open(table, "w") as f:
        f.write(f"boss@example.test {suite.user}\n{suite.user} {suite.user}\n@shared.example other@example.test, {suite.user}\n")
    suite.configure({"smtpd_sender_login_maps": "texthash:" + table, "smtpd_sasl_auth_enable": "yes"})
    try:
        suite.start()
        # smtpd_sasl_auth_enable in main.cf reaches port 25 too: AUTH after
        # STARTTLS only (538 5.7.11 before), and still optional there.
        c = Raw(suite.port(25))
        caps = c.ehlo()
        check(not any(x.startswith("AUTH") for x in caps), f"25 with SASL enabled, before TLS: no AUTH: {caps}")
        r = c.cmd("AUTH PLAIN " + plain(suite.user, suite.password))
        check(r == (538, "5.7.11 Encryption required for requested authentication mechanism"), f"AUTH before TLS on 25: {r}")
        expect(c.cmd("MAIL FROM:<alice@example.org>"), 250, "2.1.0", "MAIL without AUTH is fine on 25")
        c.starttls()
        caps = c.ehlo()
        check("AUTH PLAIN LOGIN" in caps, f"25 after TLS offers AUTH: {caps}")
        expect(c.cmd("AUTH PLAIN " + plain(suite.user, suite.password)), 235, "2.7.0", "AUTH on 25 after STARTTLS")
        c.close()
        s = smtplib.SMTP_SSL("127.0.0.1", suite.port(465), timeout=10, context=client_context())
        s.ehlo("client.example.org")
        s.login(suite.user, suite.password)
        for sender, code in (("boss@example.test", 250), (suite.user, 250), ("anyone@shared.example", 250),
                             ("demo+tag@example.test", 553), ("stranger@example.test", 553)):
            r = s.mail(sender)
            check(r[0] == code, f"smtpd_sender_login_maps: MAIL FROM:<{sender}> gets {r[0]} {r[1]!r}")
            s.rset()
        s.quit()
    finally:
        suite.stop()
        suite.cleanup()


def test_aliases_owned(make_suite):
    """By default a user also owns the virtual aliases that lead to them."""
    suite = make_suite()
    table = os.path.join(suite.dir, "virtual")
    with open(table, "w") as f:
        f.write(f"sales@example.test {suite.user}, other@example.test\ninfo@example.test other@example.test\n")
    suite.configure({"virtual_alias_maps": "texthash:" + table})
    try:
        suite.start()
        s = smtplib.SMTP("127.0.0.1", suite.port(587), timeout=10)
        s.starttls(context=client_context())
        s.login(suite.user, suite.password)
        r = s.mail("sales@example.test")
        check(r[0] == 250, f"an alias that includes the user: {r}")
        s.rset()
        r = s.mail("info@example.test")
        check(r[0] == 553, f"an alias of someone else: {r}")
        s.quit()
    finally:
        suite.stop()
        suite.cleanup()


def main():
    suite = Suite({"smtpd_timeout": "5s"})
    if not suite.password:
        fail("ternctl init printed no demo password")
    try:
        suite.start()
        test_port25_starttls(suite)
        test_starttls_injection(suite)
        test_tls_pipelining(suite)
        test_submission(suite)
        test_smtps(suite)
        test_tls_minimum(suite)
        test_certificate_renewal(suite)
        suite.stop()
    finally:
        suite.cleanup()
    test_sender_login_maps(lambda: Suite({"smtpd_timeout": "5s"}))
    test_aliases_owned(lambda: Suite({"smtpd_timeout": "5s"}))


if __name__ == "__main__":
    main()
