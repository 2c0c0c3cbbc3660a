"""smtp-client's test kit. Peer: a fake LMTP/SMTP server on 127.0.0.1 or a
unix socket that records every session (commands, message data raw and
un-stuffed) and answers by rules the test sets; runs in threads, stop()
ends it. Qmgr: the test's side of the delivery protocol on private/lmtp or
private/smtp. drop_qmgr() takes qmgr out of a Suite's master.cf so accepted
messages stay in incoming/; queue_message() sends one through smtpd."""
import base64
import os
import smtplib
import socket
import threading
import time

from tern_harness import fail, wait_for


class Peer:
    def __init__(self, lmtp=True, path=None, dsn=True, pipelining=True, size=None, smtputf8=True,
                 greeting="220 fake.test LMTP ready", stall=None, mode=0o666, bind=("127.0.0.1", 0),
                 eightbit=True, auth=None, users=None):
        self.lmtp = lmtp
        self.eightbit = eightbit    # offer 8BITMIME
        self.auth = auth            # None, or the AUTH mechanisms to offer (["PLAIN", "LOGIN"])
        self.users = users or {}    # user -> password for AUTH
        self.dsn = dsn
        self.pipelining = pipelining
        self.size = size
        self.smtputf8 = smtputf8
        self.greeting = greeting
        self.stall = stall          # None, or a command ("MAIL", "DATA", "greeting", "dot") before which it goes silent
        self.rcpt_reply = {}        # local part prefix -> reply line for RCPT
        self.final_reply = {}       # local part prefix -> reply after DATA (LMTP)
        # verb -> ("reply_close", line): answer so and hang up; ("raw", bytes):
        # answer with these bytes; "BODY" -> ("drop", None): hang up in the body.
        self.special = {}
        self.starttls = None        # "broken": offer STARTTLS, answer 220, then send no TLS at all
        self.sessions = []          # one dict per connection: {"commands": [...], "messages": [...]}
        self.lock = threading.Lock()
        self.stopping = False
        if path:
            self.sock = socket.socket(socket.AF_UNIX)
            self.sock.bind(path)
            os.chmod(path, mode)
            self.address = path
        else:
            self.sock = socket.socket(socket.AF_INET6 if ":" in bind[0] else socket.AF_INET)
            self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            self.sock.bind(bind)
            self.address = self.sock.getsockname()
            self.port = self.address[1]
        self.sock.listen(16)
        self.sock.settimeout(0.2)
        self.threads = []
        t = threading.Thread(target=self.accept_loop, daemon=True)
        t.start()
        self.threads.append(t)

    def stop(self):
        self.stopping = True
        for t in self.threads:
            t.join(timeout=5)
        self.sock.close()

    def accept_loop(self):
        while not self.stopping:
            try:
                c, _ = self.sock.accept()
            except socket.timeout:
                continue
            except OSError:
                return
            t = threading.Thread(target=self.serve, args=(c,), daemon=True)
            t.start()
            self.threads.append(t)

    def reply_for(self, table, addr, default):
        local = addr.split("@")[0]
        for prefix, reply in table.items():
            if local.startswith(prefix):
                return reply
        return default

    def serve(self, c):
        c.settimeout(0.2)
        sess = {"commands": [], "messages": [], "closed": False}
        with self.lock:
            self.sessions.append(sess)
        buf = b""
        out = []

        def send(line):
            try:
                c.sendall((line + "\r\n").encode())
            except OSError:
                pass  # smtp-client may close right after QUIT (at process stop)

        def readline():
            nonlocal buf
            deadline = time.monotonic() + 60
            while b"\n" not in buf:
                if self.stopping or time.monotonic() > deadline:
                    return None
                try:
                    d = c.recv(65536)
                except socket.timeout:
                    continue
                except OSError:
                    return None
                if not d:
                    return None
                buf += d
            line, buf = buf.split(b"\n", 1)
            return line.rstrip(b"\r")

        def stall_forever():
            while not self.stopping:
                try:
                    if not c.recv(65536):
                        return
                except socket.timeout:
                    continue
                except OSError:
                    return

        try:
            if self.stall == "greeting":
                return stall_forever()
            send(self.greeting)
            rcpts = []
            mail = None
            while not self.stopping:
                line = readline()
                if line is None:
                    return
                text = line.decode("utf-8", "replace")
                sess["commands"].append(text)
                verb = text.split(" ")[0].upper().split(":")[0]
                if self.stall == verb:
                    return stall_forever()
                act = self.special.get(verb)
                if act and act[0] == "reply_close":
                    send(act[1])
                    return
                if act and act[0] == "raw":
                    c.sendall(act[1])
                    continue
                if verb in ("LHLO", "EHLO"):
                    if (verb == "LHLO") != self.lmtp:
                        send("500 5.5.1 wrong dialect")
                        continue
                    caps = ["ENHANCEDSTATUSCODES"] + (["8BITMIME"] if self.eightbit else [])
                    if self.auth:
                        caps.append("AUTH " + " ".join(self.auth))
                    if self.pipelining:
                        caps.append("PIPELINING")
                    if self.dsn:
                        caps.append("DSN")
                    if self.smtputf8:
                        caps.append("SMTPUTF8")
                    caps.append("SIZE" + (f" {self.size}" if self.size else ""))
                    if self.starttls:
                        caps.append("STARTTLS")
                    lines = ["fake.test"] + caps
                    for i, l in enumerate(lines):
                        send(("250 " if i == len(lines) - 1 else "250-") + l)
                elif verb == "STARTTLS" and self.starttls == "broken":
                    send("220 2.0.0 Ready to start TLS")
                    for _ in range(50):  # the ClientHello, then an answer that is no TLS record
                        try:
                            if c.recv(65536):
                                break
                        except socket.timeout:
                            continue
                    c.sendall(b"this is not a TLS record\r\n")
                    return
                elif verb == "AUTH" and self.auth:
                    words = text.split(" ")
                    mech = words[1].upper() if len(words) > 1 else ""
                    user = password = None
                    try:
                        if mech == "PLAIN":
                            if len(words) > 2:
                                ir = words[2]
                            else:
                                send("334 ")
                                ir = (readline() or b"").decode()
                            parts = base64.b64decode(ir).split(b"\0")
                            user, password = parts[1].decode(), parts[2].decode()
                        elif mech == "LOGIN":
                            send("334 VXNlcm5hbWU6")
                            user = base64.b64decode(readline() or b"").decode()
                            send("334 UGFzc3dvcmQ6")
                            password = base64.b64decode(readline() or b"").decode()
                    except (ValueError, IndexError):
                        pass
                    sess.setdefault("auth_tries", []).append((mech, user))
                    if user is not None and self.users.get(user) == password:
                        sess["auth"] = (mech, user)
                        send("235 2.7.0 Authentication successful")
                    else:
                        send("535 5.7.8 Error: authentication failed: bad credentials")
                elif verb == "HELO":
                    send("250 fake.test")
                elif verb == "MAIL":
                    mail = text
                    rcpts = []
                    send("250 2.1.0 Ok")
                elif verb == "RCPT":
                    addr = text.split("<", 1)[1].split(">", 1)[0]
                    r = self.reply_for(self.rcpt_reply, addr, "250 2.1.5 Ok")
                    if r.startswith("2"):
                        rcpts.append(addr)
                    send(r)
                elif verb == "DATA":
                    if not rcpts:
                        send("503 5.5.1 No valid recipients")
                        continue
                    send("354 End data with <CR><LF>.<CR><LF>")
                    if self.special.get("BODY", ("",))[0] == "drop":
                        readline()
                        return
                    data, raw = bytearray(), bytearray()
                    while True:
                        l = readline()
                        if l is None:
                            return
                        if l == b".":
                            break
                        raw += l + b"\r\n"
                        data += (l[1:] if l.startswith(b".") else l) + b"\r\n"
                    if self.stall == "dot":
                        return stall_forever()
                    with self.lock:
                        sess["messages"].append({"mail": mail, "rcpts": list(rcpts), "data": bytes(data), "raw": bytes(raw)})
                    if self.lmtp:
                        for a in rcpts:
                            send(self.reply_for(self.final_reply, a, f"250 2.0.0 <{a}> Saved"))
                    else:
                        send("250 2.0.0 Ok: queued as FAKE1")
                elif verb == "RSET":
                    rcpts = []
                    mail = None
                    send("250 2.0.0 Ok")
                elif verb == "QUIT":
                    send("221 2.0.0 Bye")
                    return
                else:
                    send("502 5.5.2 Error: command not recognized")
        finally:
            sess["closed"] = True
            try:
                c.close()
            except OSError:
                pass


class Qmgr:
    """The test's side of the delivery protocol."""

    def __init__(self, suite, service="lmtp"):
        self.sock = socket.socket(socket.AF_UNIX)
        self.sock.settimeout(30)
        self.sock.connect(os.path.join(suite.queue, "private", service))
        self.f = self.sock.makefile("rb")
        self.version = self.f.readline().decode()

    def request(self, qid, nexthop, rcpts, protocol="lmtp", queue_file=None):
        lines = [f"deliver\tid={qid}\tqueue_file={queue_file or 'incoming/' + qid}\ttransport={protocol}"
                 f"\tprotocol={protocol}\tnexthop={nexthop}\tnrcpt={len(rcpts)}"]
        lines += [f"rcpt\tindex={i}\taddress={a}" for i, a in rcpts]
        lines.append("end")
        self.sock.sendall(("\n".join(lines) + "\n").encode())
        return self.answer()

    def answer(self):
        results, done = {}, None
        while done is None:
            line = self.f.readline().decode()
            if not line:
                return results, None
            fields = line.rstrip("\n").split("\t")
            kv = {}
            for x in fields[1:]:
                k, _, v = x.partition("=")
                kv[k] = v.replace("%09", "\t").replace("%0A", "\n").replace("%0D", "\r").replace("%25", "%")
            if fields[0] == "result":
                results[int(kv["index"])] = kv
            elif fields[0] == "done":
                done = kv
        return results, done

    def close(self):
        self.f.close()
        self.sock.close()


def drop_qmgr(suite):
    path = os.path.join(suite.dir, "master.cf")
    with open(path) as f:
        lines = f.read().splitlines(keepends=True)
    out, skipping = [], False
    for line in lines:
        if line.startswith("qmgr "):
            skipping = True
            continue
        if skipping and line.startswith((" ", "\t")):
            continue
        skipping = False
        out.append(line)
    with open(path, "w") as f:
        f.write("".join(out))


def queue_message(suite, rcpts, body=b"Subject: t\r\n\r\nhello\r\n", mail_options=(), rcpt_options=(),
                  sender="alice@example.org"):
    """Sends one message through smtpd; returns its queue ID (in incoming/)."""
    before = set(suite.queue_files("incoming"))
    s = smtplib.SMTP("127.0.0.1", suite.port(25), timeout=30)
    s.sendmail(sender, rcpts, body, mail_options=list(mail_options), rcpt_options=list(rcpt_options))
    s.quit()
    ids = wait_for(lambda: set(suite.queue_files("incoming")) - before, timeout=5)
    if len(ids) != 1:
        fail(f"expected one new queue file, got {ids}")
    return ids.pop()


def smtp_client_pids(suite):
    suite.ctl("status")
    with open(os.path.join(suite.queue, "pid", "master.status")) as f:
        pids = []
        for line in f:
            p = line.rstrip("\n").split("\t")
            if p[0] == "service" and p[1] in ("lmtp", "smtp") and p[6] != "-":
                pids += [int(x) for x in p[6].split(",")]
        return pids


