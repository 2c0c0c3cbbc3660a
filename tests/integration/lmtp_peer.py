"""A fake LMTP/SMTP server for smtp-client's tests: listens on 127.0.0.1 or a
unix socket, records every session (commands and message data), and answers
by rules the test sets. Runs in threads; stop() ends it."""
import os
import socket
import threading
import time


class Peer:
    def __init__(self, lmtp=True, path=None, dsn=True, pipelining=True, size=None, smtputf8=True,
                 greeting="220 fake.test LMTP ready", stall=None, mode=0o666):
        self.lmtp = lmtp
        self.dsn = dsn
        self.pipelining = pipelining
        self.size = size
        self.smtputf8 = smtputf8
        self.greeting = greeting
        self.stall = stall          # None, or a command ("MAIL", "DATA", "greeting", "dot") before which it goes silent
        self.rcpt_reply = {}        # local part prefix -> reply line for RCPT
        self.final_reply = {}       # local part prefix -> reply after DATA (LMTP)
        self.sessions = []          # one dict per connection: {"commands": [...], "messages": [...]}
        self.lock = threading.Lock()
        self.stopping = False
        if path:
            self.sock = socket.socket(socket.AF_UNIX)
            self.sock.bind(path)
            os.chmod(path, mode)
            self.address = path
        else:
            self.sock = socket.socket()
            self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            self.sock.bind(("127.0.0.1", 0))
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
                if verb in ("LHLO", "EHLO"):
                    if (verb == "LHLO") != self.lmtp:
                        send("500 5.5.1 wrong dialect")
                        continue
                    caps = ["ENHANCEDSTATUSCODES", "8BITMIME"]
                    if self.pipelining:
                        caps.append("PIPELINING")
                    if self.dsn:
                        caps.append("DSN")
                    if self.smtputf8:
                        caps.append("SMTPUTF8")
                    caps.append("SIZE" + (f" {self.size}" if self.size else ""))
                    lines = ["fake.test"] + caps
                    for i, l in enumerate(lines):
                        send(("250 " if i == len(lines) - 1 else "250-") + l)
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
