"""ternctl init --port-base 20000, then start, status, a second start, reload
and stop, as root and (when root, through setpriv) as an ordinary user from a
directory that user owns. Nothing may be left running afterwards."""
import os
import pwd
import shutil
import subprocess
import tempfile

from tern_harness import BIN, Client, check, fail, free_port, pid_alive, wait_for

TERNCTL = os.path.join(BIN, "ternctl")


def lifecycle(who, prefix_cmd, directory):
    def ctl(*args):
        return subprocess.run(prefix_cmd + [TERNCTL, "-c", directory, *args], capture_output=True, text=True,
                              timeout=60)

    r = ctl("init", "--port-base", "20000")
    check(r.returncode == 0, f"{who}: ternctl init --port-base 20000 succeeds: {r.stderr.strip()[-300:]}")
    port = free_port()
    # A service built for tests, so status has a process to show.
    with open(os.path.join(directory, "master.cf"), "a") as f:
        f.write(f"{port} inet n - n - 2 tern-testsvc\n")
    r = ctl("start")
    check(r.returncode == 0 and "running" in r.stdout, f"{who}: ternctl start starts master: {r.stdout.strip()} {r.stderr.strip()}")
    c = Client(port)
    check(c.cmd("PING") == "250 pong", f"{who}: the service answers on its port")
    # master rewrites its status file just after a process starts.
    def status_with_pid():
        r = ctl("status")
        svc = [l for l in r.stdout.splitlines() if l.startswith(str(port))]
        return (r, svc) if svc and str(c.pid()) in svc[0] else None
    found = wait_for(status_with_pid, timeout=5)
    r = found[0] if found else ctl("status")
    lines = r.stdout.splitlines()
    master_line = [l for l in lines if l.startswith("master: running, pid ")]
    check(r.returncode == 0 and master_line, f"{who}: status shows master and its pid: {r.stdout.strip()}")
    master_pid = int(master_line[0].split()[-1])
    check(found is not None, f"{who}: status shows the service with its process id: {r.stdout.strip()}")
    r = ctl("start")
    check(r.returncode != 0 and "already running" in r.stderr, f"{who}: a second start says it is already running: {r.stderr.strip()}")
    r = ctl("reload")
    check(r.returncode == 0, f"{who}: reload succeeds: {r.stdout.strip()} {r.stderr.strip()}")
    service_pid = c.pid()
    c.close()
    r = ctl("stop")
    check(r.returncode == 0, f"{who}: stop succeeds: {r.stdout.strip()} {r.stderr.strip()}")
    check(not pid_alive(master_pid) and not pid_alive(service_pid), f"{who}: stop leaves no process")
    r = ctl("status")
    check(r.returncode != 0 and "not running" in r.stderr, f"{who}: status then says it is not running")
    r = ctl("stop")
    check(r.returncode != 0 and "not running" in r.stderr, f"{who}: stop of a stopped instance says so")


def stop_leftover(directory):
    """After a failed check: stop the master this test started, by its pid."""
    try:
        with open(os.path.join(directory, "queue", "pid", "master.pid")) as f:
            pid = int(f.read().strip())
        os.kill(pid, 15)
        wait_for(lambda: not pid_alive(pid), timeout=15)
    except (OSError, ValueError):
        pass


def main():
    d = tempfile.mkdtemp(prefix="tern-life.")
    os.chmod(d, 0o755)  # init refuses a directory the tern accounts cannot reach
    try:
        lifecycle("root" if os.geteuid() == 0 else "user", [], os.path.join(d, "inst"))
    finally:
        stop_leftover(os.path.join(d, "inst"))
        shutil.rmtree(d, ignore_errors=True)
    if os.geteuid() != 0:
        return
    # As an ordinary user: an instance in a directory nobody owns.
    nobody = pwd.getpwnam("nobody")
    d = tempfile.mkdtemp(prefix="tern-life-user.")
    os.chmod(d, 0o755)
    os.chown(d, nobody.pw_uid, nobody.pw_gid)
    try:
        lifecycle("nobody", ["setpriv", f"--reuid={nobody.pw_uid}", f"--regid={nobody.pw_gid}", "--clear-groups"],
                  os.path.join(d, "inst"))
    finally:
        stop_leftover(os.path.join(d, "inst"))
        shutil.rmtree(d, ignore_errors=True)


if __name__ == "__main__":
    main()
