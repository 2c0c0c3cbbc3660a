"""A fake delivery agent for qmgr's tests: serves the delivery protocol
(common/ipc/delivery_protocol.h) on a unix socket the test creates under
queue/private/<transport>, so qmgr connects to it as to smtp-client.

What it answers is decided per recipient by `decide(address, attempt)`,
which returns (action, dsn, reason), or "die" to close the connection
in the middle of the request. It records every request and the most
requests it had in progress at once per destination."""
import os
import socket
import threading
import time
import urllib.parse


def unescape(s):
    return urllib.parse.unquote(s)


def escape(s):
    return s.replace("%", "%25").replace("\t", "%09").replace("\n", "%0A").replace("\r", "%0D")


class FakeAgent:
    def __init__(self, path, decide, delay=0.0):
        self.path = path
        self.decide = decide
        self.delay = delay
        self.lock = threading.Lock()
        self.attempts = {}          # address -> attempts so far
        self.requests = []          # (queue id, nexthop, [addresses])
        self.in_progress = {}       # nexthop -> requests in progress now
        self.max_in_progress = {}   # nexthop -> the most at once
        self.connections = 0
        self.stopping = False
        try:
            os.unlink(path)
        except FileNotFoundError:
            pass
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.bind(path)
        os.chmod(path, 0o666)
        self.sock.listen(256)
        self.sock.settimeout(0.2)
        self.thread = threading.Thread(target=self._accept, daemon=True)
        self.thread.start()

    def _accept(self):
        while not self.stopping:
            try:
                conn, _ = self.sock.accept()
            except socket.timeout:
                continue
            except OSError:
                return
            with self.lock:
                self.connections += 1
            threading.Thread(target=self._serve, args=(conn,), daemon=True).start()

    def _serve(self, conn):
        f = conn.makefile("rwb", buffering=0)
        try:
            conn.sendall(b"VERSION\tdelivery\t1\t0\n")
            head, rcpts = None, []
            while True:
                line = f.readline()
                if not line:
                    return
                parts = line.decode().rstrip("\n").split("\t")
                fields = dict(p.split("=", 1) for p in parts[1:] if "=" in p)
                fields = {k: unescape(v) for k, v in fields.items()}
                if parts[0] == "deliver":
                    head, rcpts = fields, []
                elif parts[0] == "rcpt":
                    rcpts.append((int(fields["index"]), fields["address"]))
                elif parts[0] == "end":
                    if not self._answer(conn, head, rcpts):
                        return
        except (OSError, ValueError):
            return
        finally:
            try:
                conn.close()
            except OSError:
                pass

    def _answer(self, conn, head, rcpts):
        hop = head.get("nexthop", "")
        with self.lock:
            self.requests.append((head.get("id"), hop, [a for _, a in rcpts]))
            self.in_progress[hop] = self.in_progress.get(hop, 0) + 1
            self.max_in_progress[hop] = max(self.max_in_progress.get(hop, 0), self.in_progress[hop])
        try:
            if self.delay:
                time.sleep(self.delay)
            out = b""
            for index, address in rcpts:
                with self.lock:
                    attempt = self.attempts.get(address, 0) + 1
                    self.attempts[address] = attempt
                verdict = self.decide(address, attempt)
                if verdict == "die":
                    conn.sendall(out)
                    return False
                action, dsn, reason = verdict
                out += (f"result\tindex={index}\taction={action}\tdsn={dsn}\trelay=fake.test[127.0.0.1]:25"
                        f"\treason={escape(reason)}\n").encode()
            out += b"done\tsetup=0.01\txfer=0.02\n"
            conn.sendall(out)
            return True
        finally:
            with self.lock:
                self.in_progress[hop] -= 1

    def close(self):
        self.stopping = True
        try:
            self.sock.close()
        except OSError:
            pass
        try:
            os.unlink(self.path)
        except FileNotFoundError:
            pass
