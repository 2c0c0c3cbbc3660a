"""master: processes on demand up to maxproc, restart after a crash, throttle
after a start-up failure, reload without refusing anyone, graceful stop, and
refusal of broken configuration or a second start."""
import os
import signal
import socket
import subprocess
import threading
import time

from tern_harness import BIN, Client, Instance, check, fail, pid_alive, wait_for, free_port


def test_on_demand_and_limits(inst, port):
    check(wait_for(lambda: inst.status().get(str(port)) == []), "no process runs before the first client")
    clients = [Client(port) for _ in range(3)]
    pids = {c.pid() for c in clients}
    check(len(pids) == 3, f"three held clients are served by three processes (maxproc 3): {sorted(pids)}")
    for c in clients:
        check(c.cmd("PING") == "250 pong", "each process answers")
    extra = socket.create_connection(("127.0.0.1", port), timeout=5)
    reply = extra.recv(200).decode()
    check(reply.startswith("421 4.3.2"), f"a fourth client is refused at once, not left waiting: {reply.strip()}")
    extra.close()
    check(wait_for(lambda: len(inst.status()[str(port)]) == 3), "status lists the three processes")
    return clients


def test_restart_after_crash(inst, port, clients):
    victim = clients[0].pid()
    os.kill(victim, signal.SIGKILL)
    clients[0].close()
    new = wait_for(lambda: [p for p in inst.status()[str(port)] if p not in {c.pid() for c in clients}], timeout=2)
    check(bool(new), f"kill -9 of a process that served is followed by a new process within 2 s: {new}")
    check(not pid_alive(victim), "the killed process is gone")
    c = Client(port)
    check(c.cmd("PING") == "250 pong", "the replacement serves clients")
    c.close()
    for cl in clients[1:]:
        cl.close()


def test_throttle(inst, fail_port):
    # A process that exits before serving: started once, then throttled.
    try:
        s = socket.create_connection(("127.0.0.1", fail_port), timeout=1)
        s.settimeout(1)
        try:
            s.recv(10)
        except OSError:
            pass
    except OSError:
        pass
    time.sleep(2.0)  # shorter than service_throttle_time (3 s)
    log = inst.log_text()
    starts = log.count("failing on purpose")
    check(starts == 1, f"a service failing at start-up is started once, then throttled (saw {starts} starts in 2 s)")
    check("before serving any client; throttling the service for 3 s" in log,
          "the throttle is logged with the reason")


def test_reload_keeps_listener(inst, port):
    stop = threading.Event()
    errors, served = [], [0]

    def hammer():
        while not stop.is_set():
            try:
                c = Client(port, timeout=10)
                if not c.greeting.startswith("220"):
                    errors.append(c.greeting)
                elif c.cmd("PING") != "250 pong":
                    errors.append("no pong")
                else:
                    served[0] += 1
                c.cmd("QUIT")
                c.close()
            except OSError as e:
                errors.append(repr(e))
    t = threading.Thread(target=hammer)
    t.start()
    time.sleep(0.5)
    with open(os.path.join(inst.dir, "master.cf")) as f:
        text = f.read()
    inst.write_master(text.replace(f"{port} inet n - n - 3", f"{port} inet n - n - 1"))
    os.kill(inst.master_pid, signal.SIGHUP)
    time.sleep(1.5)
    stop.set()
    t.join(timeout=30)
    check(served[0] > 10, f"a client connected throughout the reload ({served[0]} sessions)")
    check(not errors, f"no client saw a refusal or an error during the reload: {errors[:3]}")
    check(wait_for(lambda: "reload: configuration re-read" in inst.log_text()), "the reload is logged")
    held = Client(port)
    extra = socket.create_connection(("127.0.0.1", port), timeout=5)
    reply = extra.recv(200).decode()
    check(reply.startswith("421"), "the new maxproc (1) is in force after the reload")
    extra.close()
    held.close()


def test_reload_drain_spares_new_processes():
    port = free_port()
    inst = Instance(f"{port} inet n - n - 4 tern-testsvc -o client_limit=1\n", main_extra="graceful_stop_time = 1s\n")
    try:
        inst.start()
        old = Client(port)
        os.kill(inst.master_pid, signal.SIGHUP)
        check(wait_for(lambda: "reload: configuration re-read" in inst.log_text()), "reloaded")
        new = Client(port)
        check(new.pid() != old.pid(), "a client after the reload is served by a new process")
        check(wait_for(lambda: not pid_alive(old.pid()), timeout=5),
              "an old process still busy after graceful_stop_time is killed")
        check(new.cmd("PING") == "250 pong" and pid_alive(new.pid()), "the new process is spared")
        old.close()
        new.close()
        check(inst.stop(), "master stops")
    finally:
        inst.cleanup()


def test_changed_file_replaces_process():
    port = free_port()
    inst = Instance("")
    watched = os.path.join(inst.dir, "cert.pem")
    with open(watched, "w") as f:
        f.write("old\n")
    inst.write_master(f"{port} inet n - n - 2 tern-testsvc -o testsvc_watch_file={watched}\n")
    try:
        inst.start()
        c = Client(port)
        first = c.pid()
        tmp = watched + ".new"
        with open(tmp, "w") as f:
            f.write("new\n")
        os.rename(tmp, watched)  # as an administrator or certbot replaces it
        time.sleep(0.3)
        check(c.cmd("PING") == "250 pong", "a process whose file changed still finishes its client")
        c.close()
        check(wait_for(lambda: not pid_alive(first)), "then it exits")
        d = Client(port)
        check(d.pid() != first and d.cmd("PING") == "250 pong", "a fresh process serves the next client")
        d.close()
        check(wait_for(lambda: "changed: finishing clients" in inst.log_text()), "the change is logged")
        check(inst.stop(), "master stops")
    finally:
        inst.cleanup()


def test_bad_config():
    inst = Instance("9 inet n - n - 3 tern-testsvc\n")
    try:
        inst.write_main("this line has no equals sign\n")
        with open(os.path.join(inst.dir, "main.cf")) as f:
            bad = f.read().splitlines().index("this line has no equals sign") + 1
        r = subprocess.run(inst.master_cmd("-w"), capture_output=True, text=True, timeout=20)
        check(r.returncode != 0 and f"main.cf:{bad}: missing '='" in r.stderr,
              f"a malformed main.cf stops master with file:line: {r.stderr.strip()}")
        inst.write_main()
        inst.write_master("smtp inet n - n - 3\n")
        r = subprocess.run(inst.master_cmd("-w"), capture_output=True, text=True, timeout=20)
        check(r.returncode != 0 and "master.cf:1:" in r.stderr,
              f"a malformed master.cf stops master with file:line: {r.stderr.strip()}")
        port = free_port()
        inst.write_main("no_such_parameter = 1\n")
        inst.write_master(f"{port} inet n - n - 3 tern-testsvc\n")
        r = inst.start()
        check("unknown parameter" in r.stderr and "no_such_parameter" in r.stderr,
              f"an unknown parameter is a warning, not an error: {r.stderr.strip()}")
        r = subprocess.run(inst.master_cmd("-w"), capture_output=True, text=True, timeout=20)
        check(r.returncode != 0 and "already running" in r.stderr,
              f"a second master refuses to start: {r.stderr.strip()}")
        check(inst.stop(), "master stops")
    finally:
        inst.cleanup()


def main():
    port, fail_port = free_port(), free_port()
    inst = Instance(f"{port} inet n - n - 3 tern-testsvc -o client_limit=1\n"
                    f"{fail_port} inet n - n - 3 tern-testsvc -o testsvc_fail_start=yes\n")
    try:
        inst.start()
        clients = test_on_demand_and_limits(inst, port)
        test_restart_after_crash(inst, port, clients)
        test_throttle(inst, fail_port)
        test_reload_keeps_listener(inst, port)
        seen = set(inst.seen_pids)
        master = inst.master_pid
        check(inst.stop(), "SIGTERM stops master and every process")
        left = [p for p in seen | {master} if pid_alive(p)]
        check(not left, f"no process is left: {left}")
    finally:
        inst.cleanup()
    test_reload_drain_spares_new_processes()
    test_changed_file_replaces_process()
    test_bad_config()


if __name__ == "__main__":
    main()
