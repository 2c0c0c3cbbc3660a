"""showq: a user who may not read the queue (nobody, through setpriv) runs
ternqueue -p, -j and -i and gets, through public/showq, exactly what root
gets by reading the queue directories; the protocol greets with its VERSION,
refuses a bad request with ERROR and keeps serving. Needs root (exit 77
otherwise): the queue must belong to another account than the one listing."""
import os
import smtplib
import socket
import subprocess

from tern_harness import HOLD_MAIL, BIN, Suite, check, skip, wait_for


def ternqueue(suite, *args, as_nobody=False):
    cmd = [os.path.join(BIN, "ternqueue"), "-c", suite.dir, *args]
    if as_nobody:
        cmd = ["setpriv", "--reuid=nobody", "--regid=nogroup", "--clear-groups", *cmd]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=60, env=dict(os.environ, TZ="UTC"))


def conversation(path, request):
    s = socket.socket(socket.AF_UNIX)
    s.settimeout(10)
    s.connect(path)
    f = s.makefile("rb")
    greeting = f.readline().decode()
    s.sendall(request)
    lines = [l.decode() for l in f.readlines()]
    f.close()
    s.close()
    return greeting, lines


def main():
    if os.geteuid() != 0:
        skip("needs root: the queue must belong to another account than the user who lists it")
    suite = Suite({"queue_run_delay": "1h", **HOLD_MAIL})
    try:
        suite.start()
        socket_path = os.path.join(suite.queue, "public", "showq")
        check(os.path.exists(socket_path) and os.stat(socket_path).st_mode & 0o777 == 0o666,
              "init's master.cf serves showq on public/showq, mode 0666")

        r = ternqueue(suite, "-p", as_nobody=True)
        check(r.returncode == 0 and r.stdout == "Mail queue is empty\n",
              f"nobody lists the empty queue through showq: {r.stdout!r} {r.stderr!r}")

        s = smtplib.SMTP("127.0.0.1", suite.port(25), timeout=10)
        for i in range(3):
            s.sendmail(f"s{i}@example.org", ["demo+tag@example.test", "postmaster@example.test"],
                       f"Subject: {i}\r\n\r\nbody\r\n".encode())
        s.quit()
        check(wait_for(lambda: len(suite.queue_files("active")) == 3, timeout=10), "three messages in active/")
        held = sorted(suite.queue_files("active"))[1]
        r = subprocess.run([os.path.join(BIN, "ternsuper"), "-c", suite.dir, "-h", held], capture_output=True,
                           text=True, timeout=60)
        check(r.returncode == 0, "one of them is put on hold")

        denied = subprocess.run(["setpriv", "--reuid=nobody", "--regid=nogroup", "--clear-groups", "ls",
                                 os.path.join(suite.queue, "active")], capture_output=True, text=True)
        check(denied.returncode != 0, "nobody cannot read the queue directories itself")
        for args in (("-p",), ("-j",), ("-i", held)):
            root = ternqueue(suite, *args)
            user = ternqueue(suite, *args, as_nobody=True)
            check(root.returncode == 0 and user.returncode == 0 and user.stdout == root.stdout and user.stdout,
                  f"ternqueue {' '.join(args)}: nobody through showq gets root's output byte for byte:\n{user.stdout}"
                  f"{user.stderr}")
        check(f"{held}!" in user.stdout, "including the hold mark")
        r = ternqueue(suite, "-i", "0000000000000000Z", as_nobody=True)
        check(r.returncode == 1 and "no such message" in r.stderr, "an unknown ID through showq: no such message")

        greeting, lines = conversation(socket_path, b"LIST\n")
        check(greeting == "VERSION\tshowq\t1\t1\n", f"showq greets with its version: {greeting!r}")
        check(lines[-1] == "END\tcount=3\n" and sum(l.startswith("MESSAGE\t") for l in lines) == 3 and
              sum(l.startswith("RCPT\t") for l in lines) == 6,
              f"LIST: a MESSAGE line per message, an RCPT line per recipient, then END: {lines[-1]!r}")
        greeting, lines = conversation(socket_path, b"DROP TABLE\n")
        check(lines and lines[0].startswith("ERROR\ttext="), f"a bad request gets ERROR: {lines}")
        greeting, lines = conversation(socket_path, b"LIST\tx=" + b"a" * 5000 + b"\n")
        check(lines and lines[0].startswith("ERROR\t"), f"an over-long request line gets ERROR: {lines}")
        r = ternqueue(suite, "-p", as_nobody=True)
        check(r.returncode == 0 and "-- 1 Kbytes in 3 Requests." in r.stdout, "and showq keeps serving")

        idle = socket.socket(socket.AF_UNIX)  # a client that never asks: showq must still stop cleanly
        idle.settimeout(10)
        idle.connect(socket_path)
        check(idle.recv(100).startswith(b"VERSION\tshowq"), "an idle client is greeted")
        suite.stop()
        idle.close()
        check("panic:" not in suite.log_text(), "no daemon panicked, at work or while stopping")
        r = ternqueue(suite, "-p", as_nobody=True)
        check(r.returncode == 1 and "is the mail system running?" in r.stderr,
              f"with the system stopped, nobody is told why there is no listing: {r.stderr.strip()}")
    finally:
        suite.cleanup()


if __name__ == "__main__":
    main()
