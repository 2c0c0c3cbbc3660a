"""Shared helpers for Tern's integration tests.

Each test builds a throwaway instance in a temporary directory, starts the
real master from the build tree (TERN_BIN), talks to it over 127.0.0.1 and
stops only the processes it started, by PID. Exit status: 0 pass, 1 fail,
77 skip (CTest's SKIP_RETURN_CODE).
"""
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time

BIN = os.environ.get("TERN_BIN") or os.path.join(os.path.dirname(__file__), "..", "..", "build", "bin")
BIN = os.path.abspath(BIN)
SKIP = 77


# Settings that keep every message in active/, for tests that look at queued
# mail: every route names a transport no master.cf service serves, and qmgr
# holds mail for an agent it cannot reach in active/ (as Postfix's qmgr
# does), retrying every transport_retry_time.
HOLD_MAIL = {"virtual_transport": "unserved:", "default_transport": "unserved"}


def fail(msg):
    print("FAIL: " + msg, flush=True)
    sys.exit(1)


def check(cond, msg):
    if not cond:
        fail(msg)
    print("ok: " + msg, flush=True)


def skip(msg):
    print("SKIP: " + msg, flush=True)
    sys.exit(SKIP)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for(pred, timeout=5.0, step=0.05):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        v = pred()
        if v:
            return v
        time.sleep(step)
    return pred()


def processes():
    """{pid: (ppid, comm)} of every process, from /proc."""
    out = {}
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            with open(f"/proc/{name}/stat") as f:
                stat = f.read()
        except OSError:
            continue
        # "pid (comm) state ppid ...": comm may hold spaces and parentheses.
        comm = stat[stat.index("(") + 1:stat.rindex(")")]
        out[int(name)] = (int(stat[stat.rindex(")") + 2:].split()[1]), comm)
    return out


def descendants(root):
    """PIDs of every process below `root`."""
    children = {}
    for pid, (ppid, _) in processes().items():
        children.setdefault(ppid, []).append(pid)
    out, stack = [], [root]
    while stack:
        for c in children.get(stack.pop(), []):
            out.append(c)
            stack.append(c)
    return out


def maildir_new(suite, user):
    """The files in new/ of user's INBOX in a Suite made by ternctl init, sorted."""
    local, domain = user.split("@")
    d = os.path.join(suite.dir, "mail", domain, local, "Maildir", "new")
    try:
        return sorted(os.path.join(d, n) for n in os.listdir(d))
    except FileNotFoundError:
        return []


def read_bytes(path):
    with open(path, "rb") as f:
        return f.read()


def pid_alive(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    # A zombie is dead for our purposes.
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().split(") ")[1][0] != "Z"
    except OSError:
        return False


class Instance:
    """A hand-written instance for master tests: main.cf + master.cf."""

    def __init__(self, master_cf, main_extra="", prefix="tern-test."):
        self.dir = tempfile.mkdtemp(prefix=prefix)
        os.chmod(self.dir, 0o755)
        self.queue = os.path.join(self.dir, "queue")
        for d in ("", "pid", "private", "public"):
            os.makedirs(os.path.join(self.queue, d), exist_ok=True)
        self.log = os.path.join(self.dir, "maillog")
        self.write_main(main_extra)
        self.write_master(master_cf)
        self.master_pid = None
        self.seen_pids = set()

    def write_main(self, extra=""):
        with open(os.path.join(self.dir, "main.cf"), "w") as f:
            f.write(f"queue_directory = {self.queue}\n"
                    f"daemon_directory = {BIN}\n"
                    f"maillog_file = {self.log}\n"
                    "inet_interfaces = 127.0.0.1\n"
                    "service_throttle_time = 3s\n"
                    "graceful_stop_time = 5s\n"
                    # Sanitizer builds: children report into the instance
                    # directory, and stop() fails the test on any report.
                    "import_environment = TZ LANG ASAN_OPTIONS UBSAN_OPTIONS\n" + extra)

    def write_master(self, text):
        with open(os.path.join(self.dir, "master.cf"), "w") as f:
            f.write(text)

    def master_cmd(self, *args):
        return [os.path.join(BIN, "master"), "-c", self.dir, *args]

    def sanitizer_env(self):
        env = dict(os.environ)
        for var in ("ASAN_OPTIONS", "UBSAN_OPTIONS"):
            opts = env.get(var, "")
            env[var] = (opts + ":" if opts else "") + "log_path=" + os.path.join(self.dir, "sanitizer")
        return env

    def sanitizer_reports(self):
        reports = []
        for name in sorted(os.listdir(self.dir)):
            if name.startswith("sanitizer"):
                with open(os.path.join(self.dir, name), errors="replace") as f:
                    reports.append(f.read())
        return reports

    def start(self):
        r = subprocess.run(self.master_cmd("-w", *(["-v"] if os.environ.get("TERN_VERBOSE") else [])), capture_output=True, text=True, timeout=20, env=self.sanitizer_env())
        if r.returncode != 0:
            fail(f"master did not start: {r.stderr}")
        with open(os.path.join(self.queue, "pid", "master.pid")) as f:
            self.master_pid = int(f.read().strip())
        return r

    def status(self):
        """{service: [pids]} from master's status file."""
        out = {}
        try:
            with open(os.path.join(self.queue, "pid", "master.status")) as f:
                for line in f:
                    p = line.rstrip("\n").split("\t")
                    if p[0] == "service":
                        out[p[1]] = [] if p[6] == "-" else [int(x) for x in p[6].split(",")]
        except FileNotFoundError:
            pass
        for pids in out.values():
            self.seen_pids.update(pids)
        return out

    def log_text(self):
        try:
            with open(self.log) as f:
                return f.read()
        except FileNotFoundError:
            return ""

    def stop(self):
        """SIGTERM master; returns True when master and every child seen are gone."""
        if not self.master_pid:
            return True
        self.status()
        try:
            os.kill(self.master_pid, signal.SIGTERM)
        except ProcessLookupError:
            pass
        gone = wait_for(lambda: not pid_alive(self.master_pid) and
                        not any(pid_alive(p) for p in self.seen_pids), timeout=15)
        self.master_pid = None if gone else self.master_pid
        reports = self.sanitizer_reports()
        if reports:
            fail("sanitizer reports from the instance's processes:\n" + "\n".join(reports)[:20000])
        return bool(gone)

    def cleanup(self):
        if self.master_pid and pid_alive(self.master_pid):
            os.kill(self.master_pid, signal.SIGKILL)
        for p in self.seen_pids:
            if pid_alive(p):
                try:
                    os.kill(p, signal.SIGKILL)
                except ProcessLookupError:
                    pass
        if not os.environ.get("TERN_KEEP"):
            shutil.rmtree(self.dir, ignore_errors=True)
        else:
            print("kept " + self.dir)


class Client:
    """A line client for tern-testsvc."""

    def __init__(self, port=None, path=None, timeout=5):
        if path:
            self.sock = socket.socket(socket.AF_UNIX)
            self.sock.settimeout(timeout)
            self.sock.connect(path)
        else:
            self.sock = socket.create_connection(("127.0.0.1", port), timeout=timeout)
        self.f = self.sock.makefile("rb")
        self.greeting = self.readline()

    def readline(self):
        return self.f.readline().decode(errors="replace").strip()

    def cmd(self, line):
        self.sock.sendall((line + "\r\n").encode())
        return self.readline()

    def pid(self):
        for field in self.greeting.split():
            if field.startswith("pid="):
                return int(field[4:])
        return None

    def close(self):
        try:
            self.f.close()  # the socket closes only when its file object does too
            self.sock.close()
        except OSError:
            pass


_port_locks = {}  # base -> open lock file, held while this test uses the base


def release_port_base(base):
    lock = _port_locks.pop(base, None)
    if lock:
        lock.close()


def pick_port_base():
    """A base N with N+24, N+25, N+143, N+465, N+587 and N+993 all free.
    Tests run in parallel and bind their ports only seconds after picking
    them, so each base is also reserved with a lock file (flock, released
    when the test ends or its Suite is cleaned up)."""
    import fcntl
    import random
    for _ in range(200):
        base = random.randrange(21000, 60000, 1000)  # 20000: the README's demo and lifecycle test
        if base in _port_locks:
            continue
        lock = open(os.path.join(tempfile.gettempdir(), f"tern-test-port-{base}.lock"), "a")
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            lock.close()
            continue
        ok = True
        for off in (24, 25, 143, 465, 587, 993):
            with socket.socket() as s:
                try:
                    s.bind(("127.0.0.1", base + off))
                except OSError:
                    ok = False
                    break
        if ok:
            _port_locks[base] = lock
            return base
        lock.close()
    fail("no free port base")


class Suite:
    """A complete instance made by `ternctl init`, as a user would make it."""

    def __init__(self, settings=None, domain="example.test", listen_address=None, port_base=None, netns=None):
        """listen_address: `ternctl init --listen-address` (a test network of
        several instances on 127.0.0.x); port_base: share another Suite's
        ports (on another address), reserved by that Suite; netns: run
        ternctl (and so the daemons) inside this network namespace
        (`ip netns exec`)."""
        self.netns = netns
        self.tmp = tempfile.mkdtemp(prefix="tern-suite.")
        os.chmod(self.tmp, 0o755)
        self.dir = os.path.join(self.tmp, "etc")
        self.own_base = port_base is None
        self.base = pick_port_base() if port_base is None else port_base
        self.domain = domain
        self.address = listen_address or "127.0.0.1"
        extra = ["--listen-address", listen_address] if listen_address else []
        r = self.ctl("init", "--port-base", str(self.base), "--domain", domain, *extra)
        if r.returncode != 0:
            fail(f"ternctl init failed: {r.stderr}")
        self.password = None
        for line in r.stdout.splitlines():
            if line.startswith("demo user:"):
                self.password = line.split("password:")[1].strip()
        self.user = "demo@" + domain
        self.queue = os.path.join(self.dir, "queue")
        self.log = os.path.join(self.dir, "log", "maillog")
        # Tests use the network on 127.0.0.0/8 only: mail for other domains
        # (smtp-client's MX lookups) asks a DNS server that is not there and
        # is deferred (4.4.3), unless the test names its own (dns_server.py).
        base_settings = {"import_environment": "TZ LANG ASAN_OPTIONS UBSAN_OPTIONS TERN_FAULTS",
                         "dns_servers": "127.0.0.1:1"}
        base_settings.update(settings or {})
        self.configure(base_settings)
        self.master_pid = None

    def port(self, offset):
        return self.base + offset

    def ctl(self, *args, env=None):
        prefix = ["ip", "netns", "exec", self.netns] if self.netns else []
        return subprocess.run([*prefix, os.path.join(BIN, "ternctl"), "-c", self.dir, *args], capture_output=True,
                              text=True, timeout=120, env=env)

    def configure(self, settings):
        args = [f"{k}={v}" for k, v in settings.items()]
        r = subprocess.run([os.path.join(BIN, "ternconf"), "-c", self.dir, *args], capture_output=True, text=True)
        if r.returncode != 0:
            fail(f"ternconf failed: {r.stderr}")

    def env(self, extra=None):
        env = dict(os.environ)
        for var in ("ASAN_OPTIONS", "UBSAN_OPTIONS"):
            opts = env.get(var, "")
            env[var] = (opts + ":" if opts else "") + "log_path=" + os.path.join(self.tmp, "sanitizer")
        env.update(extra or {})
        return env

    def start(self, extra_env=None):
        r = self.ctl("start", env=self.env(extra_env))
        if r.returncode != 0:
            fail(f"ternctl start failed: {r.stdout} {r.stderr}")
        with open(os.path.join(self.queue, "pid", "master.pid")) as f:
            self.master_pid = int(f.read().strip())

    def stop(self):
        if not self.master_pid:
            return
        r = self.ctl("stop")
        if r.returncode != 0:
            fail(f"ternctl stop failed: {r.stderr}")
        self.master_pid = None
        reports = [n for n in os.listdir(self.tmp) if n.startswith("sanitizer")]
        if reports:
            text = ""
            for n in reports:
                with open(os.path.join(self.tmp, n), errors="replace") as f:
                    text += f.read()
            fail("sanitizer reports:\n" + text[:20000])

    def log_text(self):
        try:
            with open(self.log) as f:
                return f.read()
        except FileNotFoundError:
            return ""

    def queue_files(self, *queues):
        """{queue ID: bytes} of the files in the named queues (default: every
        queue a message can wait in; qmgr moves them on quickly). A file
        that qmgr renames between the listing and the open (incoming/ to
        active/, say) makes the whole snapshot start again, a bounded number
        of times."""
        for _ in range(50):
            out = {}
            try:
                for queue in queues or ("incoming", "active", "deferred", "hold"):
                    for root, _, files in os.walk(os.path.join(self.queue, queue)):
                        for n in files:
                            with open(os.path.join(root, n), "rb") as f:
                                out[n] = f.read()
                return out
            except FileNotFoundError:
                time.sleep(0.02)
        fail("the queue kept changing under queue_files() for 50 tries")

    def cleanup(self):
        if self.master_pid and pid_alive(self.master_pid):
            self.ctl("stop")
        if self.own_base:
            release_port_base(self.base)
        if not os.environ.get("TERN_KEEP"):
            shutil.rmtree(self.tmp, ignore_errors=True)
        else:
            print("kept " + self.tmp)
