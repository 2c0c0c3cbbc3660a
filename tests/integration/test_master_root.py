"""As root: a spawned service runs as its configured account, inside its
chroot, with every capability set empty in every thread, and cannot regain
privileges; a unix listener gets its configured owner, group and mode.
Exits 77 (skipped) when not root."""
import grp
import os
import pwd
import stat
import subprocess

from tern_harness import BIN, Client, Instance, check, free_port, skip, wait_for


def proc_status(path):
    out = {}
    with open(path) as f:
        for line in f:
            k, _, v = line.partition(":")
            out[k] = v.split()
    return out


def main():
    if os.geteuid() != 0:
        skip("needs root to change ids, chroot and drop capabilities")
    port = free_port()
    inst = Instance(f"{port} inet n - y - 2 tern-testsvc\n"
                    "probe unix - - y - 1 tern-testsvc -o tern_listen_owner=tern "
                    "-o tern_listen_group=tern-priv -o tern_listen_mode=0620\n")
    try:
        r = subprocess.run([os.path.join(BIN, "ternctl"), "-c", inst.dir, "check"], capture_output=True, text=True)
        check(r.returncode == 0, f"ternctl check sets up the accounts and the queue: {r.stderr.strip()}")
        tern = pwd.getpwnam("tern")
        inst.start()

        sock = os.path.join(inst.queue, "private", "probe")
        st = os.stat(sock)
        check(stat.S_ISSOCK(st.st_mode), "the unix listener exists")
        check(st.st_uid == tern.pw_uid, "the unix listener is owned by tern_listen_owner")
        check(st.st_gid == grp.getgrnam("tern-priv").gr_gid, "the unix listener has tern_listen_group")
        check(stat.S_IMODE(st.st_mode) == 0o620, f"the unix listener has tern_listen_mode: {oct(stat.S_IMODE(st.st_mode))}")

        c = Client(port)
        pid = c.pid()
        check(c.cmd("PING") == "250 pong", "the service answers")
        check(wait_for(lambda: len(os.listdir(f"/proc/{pid}/task")) > 1), "the worker threads are running")
        s = proc_status(f"/proc/{pid}/status")
        check(s["Uid"] == [str(tern.pw_uid)] * 4, f"real, effective, saved and fs uid are tern's: {s['Uid']}")
        check(s["Gid"] == [str(tern.pw_gid)] * 4, f"every gid is tern's group: {s['Gid']}")
        check(os.readlink(f"/proc/{pid}/root") == inst.queue, "the process is chrooted to the queue directory")
        listing = c.cmd("ROOT")
        check("pid" in listing and "private" in listing and "etc" not in listing.split("=")[1].split(","),
              f"inside, / is the queue directory: {listing}")
        tasks = os.listdir(f"/proc/{pid}/task")
        bad = []
        for t in tasks:
            ts = proc_status(f"/proc/{pid}/task/{t}/status")
            for k in ("CapInh", "CapPrm", "CapEff", "CapBnd", "CapAmb"):
                if int(ts[k][0], 16) != 0:
                    bad.append((t, k, ts[k][0]))
            if ts.get("NoNewPrivs") != ["1"]:
                bad.append((t, "NoNewPrivs", ts.get("NoNewPrivs")))
        check(not bad and len(tasks) > 1,
              f"CapEff, CapPrm, CapBnd (and CapInh, CapAmb) are zero and no_new_privs is set in all {len(tasks)} threads: {bad}")
        check(c.cmd("SETUID0") == "250 setuid(0) failed", "setuid(0) fails")
        check(c.cmd("CAPSET") == "250 cannot raise capabilities", "capabilities cannot be raised again")
        c.close()

        u = Client(path=sock)
        upid = u.pid()
        check(u.cmd("PING") == "250 pong", "the unix service answers")
        us = proc_status(f"/proc/{upid}/status")
        check(us["Uid"] == [str(tern.pw_uid)] * 4, "the unix service runs as mail_owner too")
        u.close()
        check(inst.stop(), "master stops and no process is left")
    finally:
        inst.cleanup()


if __name__ == "__main__":
    main()
