"""Per-client limits through anvil, against the running suite: the connection
count limit (421 4.7.0 before the greeting, Postfix's log line, a freed slot
is taken again), the connection rate limit and its time unit, the message and
recipient rate limits (450 4.7.1), exemptions, and that counts are never
stuck: not when an smtpd process is killed, not when anvil is killed (master
restarts it), and smtpd keeps serving while anvil does not answer (fail
open)."""
import os
import re
import signal
import socket
import time

from smtp_client import Raw, expect
from tern_harness import Suite, check, pid_alive, wait_for

HOST = "mail.example.test"


def service_pids(suite, name):
    try:
        with open(os.path.join(suite.queue, "pid", "master.status")) as f:
            for line in f:
                p = line.rstrip("\n").split("\t")
                if p[0] == "service" and p[1] == name:
                    return [] if p[6] == "-" else [int(x) for x in p[6].split(",")]
    except FileNotFoundError:
        pass
    return []


def open_session(port):
    """A connected client and its greeting (code, text)."""
    c = Raw(port)
    return c, c.greeting


def closed_by_server(c, timeout=5.0):
    """True once the server has closed the connection (EOF)."""
    c.sock.settimeout(timeout)
    try:
        while True:
            data = c.sock.recv(4096)
            if not data:
                return True
    except (socket.timeout, OSError):
        return False


def quit_session(c):
    expect(c.cmd("QUIT"), 221, "2.0.0", "QUIT")
    check(closed_by_server(c), "the server closes after QUIT")
    c.close()


def refused(port, what):
    c, g = open_session(port)
    check(g[0] == 421 and g[1] == f"4.7.0 {HOST} Error: too many connections from 127.0.0.1",
          f"{what}: the greeting is 421 4.7.0 ... too many connections from 127.0.0.1: {g}")
    check(closed_by_server(c), f"{what}: and the connection is closed")
    c.close()


def log_matches(suite, pattern):
    return re.search(pattern, suite.log_text(), re.M)


def over_limit_logged(suite, what, n):
    """Postfix's warning for a client over a limit reaches the log."""
    svc = str(suite.port(25))
    check(wait_for(lambda: log_matches(
        suite, rf"warning: {what} limit exceeded: {n} from \S+\[127\.0\.0\.1\] for service {svc}$")),
        f"the log says: {what} limit exceeded: {n} from ...[127.0.0.1] for service {svc}")


def test_count_and_event_rates(suite):
    port, svc = suite.port(25), str(suite.port(25))
    held = []
    for i in range(3):
        c, g = open_session(port)
        check(g[0] == 220, f"connection {i + 1} of 3 is greeted: {g}")
        held.append(c)
    refused(port, "a 4th concurrent connection from 127.0.0.1")
    over_limit_logged(suite, "Connection concurrency", 4)
    for c in held:
        expect(c.cmd("NOOP"), 250, "2.0.0", "the sessions already open are served on")
    quit_session(held.pop())
    c, g = open_session(port)
    check(g[0] == 220, f"after one closed, a new connection is accepted: {g}")
    held.append(c)
    refused(port, "and the next one over the limit again")

    # Recipient rate 3 and message rate 2 per time unit, on one session.
    s = held[0]
    s.ehlo()
    expect(s.cmd("MAIL FROM:<a@example.org>"), 250, "2.1.0", "MAIL 1")
    for i in range(3):
        expect(s.cmd("RCPT TO:<demo@example.test>"), 250, "2.1.5", f"RCPT {i + 1} of 3")
    r = s.cmd("RCPT TO:<demo@example.test>")
    check(r == (450, "4.7.1 Error: too many recipients from 127.0.0.1"),
          f"the 4th RCPT in the time unit gets 450 4.7.1 Error: too many recipients: {r}")
    over_limit_logged(suite, "Recipient address rate", 4)
    expect(s.cmd("RSET"), 250, "2.0.0", "RSET")
    expect(s.cmd("MAIL FROM:<a@example.org>"), 250, "2.1.0", "MAIL 2")
    expect(s.cmd("RSET"), 250, "2.0.0", "RSET")
    r = s.cmd("MAIL FROM:<a@example.org>")
    check(r == (450, "4.7.1 Error: too much mail from 127.0.0.1"),
          f"the 3rd MAIL in the time unit gets 450 4.7.1 Error: too much mail: {r}")
    over_limit_logged(suite, "Message delivery request rate", 3)
    expect(s.cmd("NOOP"), 250, "2.0.0", "the session goes on after the refusals")

    # An smtpd process killed with its three sessions: anvil releases them
    # when the process's connection to it closes.
    pids = wait_for(lambda: service_pids(suite, svc))
    check(len(pids) == 1, f"one smtpd process serves the three sessions: {pids}")
    os.kill(pids[0], signal.SIGKILL)
    check(wait_for(lambda: not pid_alive(pids[0])), "the smtpd process is killed")
    for c in held:
        c.close()
    held = []
    # master replaces it on demand; anvil sees the dead process's connection close.
    for i in range(3):
        c, g = open_session(port)
        check(g[0] == 220, f"after the kill, connection {i + 1} of 3 is accepted (no stuck counts): {g}")
        held.append(c)
    refused(port, "and a 4th is still refused (counting goes on)")
    for c in held:
        quit_session(c)


def test_connection_rate(suite):
    port = suite.port(25)
    for i in range(5):
        c, g = open_session(port)
        check(g[0] == 220, f"connection {i + 1} of 5 in the time unit is accepted: {g}")
        if i == 0:
            start = time.monotonic()  # anvil started the client's time unit before this greeting
        quit_session(c)
    refused(port, "the 6th connection in the time unit")
    over_limit_logged(suite, "Connection rate", 6)
    # anvil_rate_time_unit = 4s: a new unit starts with a new count.
    time.sleep(max(0.0, 4.5 - (time.monotonic() - start)))
    c, g = open_session(port)
    check(g[0] == 220, f"once the time unit is over, the client is accepted again: {g}")
    quit_session(c)


def test_exceptions(suite):
    port = suite.port(25)
    held = []
    for i in range(4):
        c, g = open_session(port)
        check(g[0] == 220, f"127.0.0.1 is in smtpd_client_event_limit_exceptions: connection {i + 1} of 4 "
                           f"is accepted despite a limit of 1: {g}")
        held.append(c)
    for c in held:
        quit_session(c)
    check("limit exceeded" not in suite.log_text(), "nothing is logged as over a limit")


def test_anvil_killed(suite):
    port = suite.port(25)
    old = []
    for i in range(2):
        c, g = open_session(port)
        check(g[0] == 220, f"connection {i + 1} of 2 accepted: {g}")
        old.append(c)
    refused(port, "a 3rd concurrent connection (limit 2)")
    pids = wait_for(lambda: service_pids(suite, "anvil"))  # master writes its status file a moment later
    check(len(pids) == 1, f"anvil runs as one process: {pids}")
    os.kill(pids[0], signal.SIGKILL)
    check(wait_for(lambda: not pid_alive(pids[0])), "anvil is killed with SIGKILL")
    check(wait_for(lambda: (p := service_pids(suite, "anvil")) and p != pids or
                   log_matches(suite, rf"service anvil: process pid {pids[0]} killed by signal 9"), timeout=10),
          "master notices and restarts anvil")
    for c in old:
        expect(c.cmd("NOOP"), 250, "2.0.0", "the sessions open before the kill are served on")
    new = []
    for i in range(2):
        c, g = open_session(port)
        check(g[0] == 220, f"smtpd keeps serving: new connection {i + 1} accepted (the new anvil counts from 0): {g}")
        new.append(c)
    check(wait_for(lambda: (p := service_pids(suite, "anvil")) and p != pids, timeout=10),
          f"anvil runs again under a new pid: {service_pids(suite, 'anvil')}")
    # The old sessions end: their disconnects must not reach the new anvil,
    # which never counted them, or the new sessions' counts would vanish.
    for c in old:
        quit_session(c)
    refused(port, "with 2 sessions counted by the new anvil, a 3rd is refused")
    for c in new:
        quit_session(c)

    # A reload replaces smtpd and anvil while sessions are open: the new
    # anvil counts only the new sessions, and the old ones' ends change nothing.
    old = []
    for i in range(2):
        c, g = open_session(port)
        check(g[0] == 220, f"before the reload, connection {i + 1} of 2 accepted: {g}")
        old.append(c)
    anvil_before = service_pids(suite, "anvil")
    r = suite.ctl("reload")
    check(r.returncode == 0, f"ternctl reload: {r.stderr}")
    check(wait_for(lambda: "reload: configuration re-read" in suite.log_text()), "master re-read its configuration")
    new = []
    for i in range(2):
        c, g = open_session(port)
        check(g[0] == 220, f"after the reload, connection {i + 1} of 2 accepted by the new processes: {g}")
        new.append(c)
    check(wait_for(lambda: (p := service_pids(suite, "anvil")) and p != anvil_before),
          f"anvil was replaced: {anvil_before} -> {service_pids(suite, 'anvil')}")
    for c in old:
        expect(c.cmd("NOOP"), 250, "2.0.0", "an old process still serves its session")
        quit_session(c)
    refused(port, "with 2 sessions counted by the new anvil, a 3rd is refused after the reload")
    for c in new:
        quit_session(c)

    # anvil does not answer (stopped): smtpd waits at most its timeout, then
    # greets anyway and says why.
    pids = service_pids(suite, "anvil")
    os.kill(pids[0], signal.SIGSTOP)
    try:
        t0 = time.monotonic()
        c, g = open_session(port)
        waited = time.monotonic() - t0
        check(g[0] == 220, f"with anvil stopped, a client is still greeted (fail open) after {waited:.1f}s: {g}")
        check(waited < 6, "within anvil's answer timeout")
        check(wait_for(lambda: log_matches(suite, r"warning: problem talking to server \S*private/anvil: .*"
                                                   r"per-client limits are not enforced")),
              "smtpd logs a warning that limits are not enforced")
        held = [c]
        for i in range(3):
            c, g = open_session(port)
            check(g[0] == 220, f"meanwhile more clients than the limit are greeted ({i + 2}): {g}")
            held.append(c)
        for c in held:
            quit_session(c)
    finally:
        os.kill(pids[0], signal.SIGCONT)


def run(settings, test):
    suite = Suite(dict({"smtpd_timeout": "10s"}, **settings))
    try:
        suite.start()
        test(suite)
        suite.stop()
    finally:
        suite.cleanup()


def main():
    run({"smtpd_client_connection_count_limit": "3", "smtpd_client_message_rate_limit": "2",
         "smtpd_client_recipient_rate_limit": "3"}, test_count_and_event_rates)
    run({"smtpd_client_connection_count_limit": "0", "smtpd_client_connection_rate_limit": "5",
         "anvil_rate_time_unit": "4s"}, test_connection_rate)
    run({"smtpd_client_connection_count_limit": "1", "smtpd_client_connection_rate_limit": "1",
         "smtpd_client_event_limit_exceptions": "192.0.2.0/24, 127.0.0.0/8"}, test_exceptions)
    run({"smtpd_client_connection_count_limit": "2"}, test_anvil_killed)


if __name__ == "__main__":
    main()
