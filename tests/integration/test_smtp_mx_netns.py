"""test_smtp_mx's network with each host in its own network namespace (root
with CAP_SYS_ADMIN; exit 77 otherwise): namespaces made by the test with
`ip netns`, joined by a veth pair (10.77.N.2 for a.test, 10.77.N.3 for
b.test; nothing leaves the machine), each with its own copy of the test
DNS server on its 127.0.0.1:53. Both instances listen on the standard SMTP
port 25 of their own address, as real MX hosts do. Mail from A's user,
submitted with sendmail inside A's namespace, reaches B's user over
STARTTLS through B's MX record, and the reply comes back; with B's
namespace's link down, A defers, and delivers after it is back up and
`ternqueue -f`."""
import os
import re
import subprocess
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tools"))
from tern_harness import BIN, Suite, check, maildir_new, skip, wait_for  # noqa: E402
from tern_harness import read_bytes as read  # noqa: E402

TOOLS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tools")


def run(*args, check_rc=True):
    r = subprocess.run(list(args), capture_output=True, text=True, timeout=60)
    if check_rc and r.returncode != 0:
        raise RuntimeError(f"{' '.join(args)}: {r.stderr.strip()}")
    return r


def with_subject(suite, user, subject):
    return [p for p in maildir_new(suite, user) if f"Subject: {subject}\n".encode() in read(p).replace(b"\r\n", b"\n")]


def sendmail(suite, sender, rcpt, subject):
    msg = f"From: <{sender}>\nTo: <{rcpt}>\nSubject: {subject}\n\nhello from {suite.domain}\n"
    r = subprocess.run(["ip", "netns", "exec", suite.netns, os.path.join(BIN, "sendmail"), "-C", suite.dir,
                        "-f", sender, rcpt], input=msg, capture_output=True, text=True, timeout=60)
    check(r.returncode == 0, f"sendmail in {suite.netns}: {r.stderr}")


def log_re(suite, pattern, timeout=30):
    return wait_for(lambda: re.search(pattern, suite.log_text()), timeout=timeout)


def main():
    if os.geteuid() != 0:
        skip("needs root (network namespaces)")
    if subprocess.run(["unshare", "--net", "true"], capture_output=True).returncode != 0:
        skip("cannot make a network namespace (no CAP_SYS_ADMIN)")
    if subprocess.run(["ip", "-V"], capture_output=True).returncode != 0:
        skip("no ip(8)")
    tag = os.getpid() % 200 + 20
    ns = {"a": f"tern-mx-a-{os.getpid()}", "b": f"tern-mx-b-{os.getpid()}"}
    addr = {"a": f"10.77.{tag}.2", "b": f"10.77.{tag}.3"}
    veth = {"a": f"tmxa{os.getpid() % 100000}", "b": f"tmxb{os.getpid() % 100000}"}
    dns_procs, suites, made = [], [], []
    tmp = None
    try:
        for k in ("a", "b"):
            run("ip", "netns", "add", ns[k])
            made.append(ns[k])
        run("ip", "link", "add", veth["a"], "type", "veth", "peer", "name", veth["b"])
        for k in ("a", "b"):
            run("ip", "link", "set", veth[k], "netns", ns[k])
            run("ip", "-n", ns[k], "addr", "add", addr[k] + "/24", "dev", veth[k])
            run("ip", "-n", ns[k], "link", "set", veth[k], "up")
            run("ip", "-n", ns[k], "link", "set", "lo", "up")
        zone = (f"zone test\nmail.a.test A {addr['a']}\nmail.b.test A {addr['b']}\n"
                "a.test MX 10 mail.a.test\nb.test MX 10 mail.b.test\n")
        import tempfile
        tmp = tempfile.mkdtemp(prefix="tern-netns.")
        zone_file = os.path.join(tmp, "zone")
        with open(zone_file, "w") as f:
            f.write(zone)
        for k in ("a", "b"):
            port_file = os.path.join(tmp, f"dns-{k}.port")
            p = subprocess.Popen(["ip", "netns", "exec", ns[k], sys.executable, os.path.join(TOOLS, "dns_server.py"),
                                  "--zone", zone_file, "--port", "53", "--port-file", port_file],
                                 stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            dns_procs.append(p)
            check(wait_for(lambda: os.path.exists(port_file), timeout=10), f"the DNS server runs in {ns[k]}")

        common = {"mynetworks": "127.0.0.0/8", "queue_run_delay": "1s", "minimal_backoff_time": "1h",
                  "maximal_backoff_time": "1h", "dns_servers": "127.0.0.1:53", "dns_timeout": "3s",
                  "smtp_connect_timeout": "3s", "inet_protocols": "ipv4"}
        a = Suite(dict(common), domain="a.test", listen_address=addr["a"], netns=ns["a"])
        suites.append(a)
        b = Suite(dict(common), domain="b.test", listen_address=addr["b"], port_base=a.base, netns=ns["b"])
        suites.append(b)
        for s in (a, b):
            s.configure({"smtp_tcp_port": str(a.port(25))})
            s.start()

        sendmail(a, "demo@a.test", "demo@b.test", "across namespaces")
        check(wait_for(lambda: with_subject(b, "demo@b.test", "across namespaces"), timeout=40),
              "A's mail reaches B's Maildir across the namespaces")
        check(log_re(a, rf"TLS connection established to mail\.b\.test\[{re.escape(addr['b'])}\]:{a.port(25)}: TLSv1"),
              "over STARTTLS")
        check(log_re(a, rf"to=<demo@b\.test>, relay=mail\.b\.test\[{re.escape(addr['b'])}\]:{a.port(25)}, "
                        r".*status=sent"), "the delivery line names B's MX")
        got = read(with_subject(b, "demo@b.test", "across namespaces")[0])
        check(f"[{addr['a']}]".encode() in got, "B saw the connection come from A's namespace address")
        sendmail(b, "demo@b.test", "demo@a.test", "reply across")
        check(wait_for(lambda: with_subject(a, "demo@a.test", "reply across"), timeout=40), "and the reply comes back")

        run("ip", "-n", ns["b"], "link", "set", veth["b"], "down")
        sendmail(a, "demo@a.test", "demo@b.test", "link down")
        check(log_re(a, r"to=<demo@b\.test>, .*status=deferred \(connect to mail\.b\.test"),
              "B unreachable: deferred")
        run("ip", "-n", ns["b"], "link", "set", veth["b"], "up")
        time.sleep(1)

        def flushed():
            subprocess.run(["ip", "netns", "exec", ns["a"], os.path.join(BIN, "ternqueue"), "-c", a.dir, "-f"],
                           capture_output=True, timeout=30)
            return wait_for(lambda: with_subject(b, "demo@b.test", "link down"), timeout=4)
        check(wait_for(flushed, timeout=40, step=0.1), "delivered after the link is back and ternqueue -f")
        for s in suites:
            s.stop()
    finally:
        for s in suites:
            s.cleanup()
        for p in dns_procs:
            p.terminate()
            try:
                p.wait(timeout=5)
            except subprocess.TimeoutExpired:
                p.kill()
        for n in made:
            run("ip", "netns", "del", n, check_rc=False)
        if tmp:
            import shutil
            shutil.rmtree(tmp, ignore_errors=True)
    print("ok")


if __name__ == "__main__":
    main()
