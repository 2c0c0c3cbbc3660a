"""common/dns against the test DNS server (tests/tools/dns_server.py), through
tern-dnsq: A, AAAA, MX (with a null MX), PTR, CNAME chains, the TCP fallback
of a truncated answer, and the outcomes the SMTP client must tell apart:
NXDOMAIN, NODATA, SERVFAIL and a timeout at dns_timeout; then a client's
forward-confirmed name, and the warnings for names that do not resolve back."""
import os
import subprocess
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tools"))
from dns_server import DnsServer  # noqa: E402
from tern_harness import BIN, check  # noqa: E402

ZONE = """
zone example.test
zone 127.in-addr.arpa
zone ip6.arpa
mx.example.test      A     127.0.0.1
mx.example.test      AAAA  ::1
mx2.example.test     A     127.0.0.2
mx2.example.test     A     127.0.0.3
example.test         MX    10 mx.example.test
example.test         MX    20 mx2.example.test
example.test         TXT   "v=spf1 -all"
nullmx.example.test  MX    0 .
www.example.test     CNAME alias.example.test
alias.example.test   CNAME mx.example.test
mail.example.test    CNAME example.test
dangling.example.test CNAME gone.example.test
1.0.0.127.in-addr.arpa PTR mx.example.test
2.0.0.127.in-addr.arpa PTR nowhere.example.test
3.0.0.127.in-addr.arpa PTR other.example.test
3.0.0.127.in-addr.arpa PTR mx2.example.test
4.0.0.127.in-addr.arpa PTR mx.example.test
6.0.0.127.in-addr.arpa PTR bad_name.example.test
1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.ip6.arpa PTR mx.example.test
other.example.test   A     127.0.0.99
big.example.test     A     127.0.0.7
servfail broken.example.test
servfail 5.0.0.127.in-addr.arpa
drop silent.example.test
truncate big.example.test
"""


def dnsq(port, *queries, timeout=2):
    r = subprocess.run([os.path.join(BIN, "tern-dnsq"), "-s", f"127.0.0.1:{port}", "-t", str(timeout), *queries],
                       capture_output=True, text=True, timeout=60)
    check(r.returncode == 0, f"tern-dnsq {' '.join(queries)}: exit {r.returncode} {r.stderr}")
    out = {}
    last = None
    for line in r.stdout.splitlines():
        if line.startswith("warning: "):
            out[last]["warnings"].append(line[len("warning: "):])
        elif line.startswith("pending="):
            out["pending"] = int(line.split("=")[1])
        else:
            words = line.split()
            ms = int(words[-1][3:])
            last = words[0]
            out[last] = {"result": " ".join(words[1:-1]), "ms": ms, "warnings": []}
    return out


def main():
    with DnsServer(ZONE) as dns:
        port = dns.port
        cases = [
            ("a:mx.example.test", "ok 127.0.0.1", "an A record"),
            ("aaaa:mx.example.test", "ok ::1", "an AAAA record"),
            ("a:mx2.example.test", "ok 127.0.0.2 127.0.0.3", "two A records, in answer order"),
            ("mx:example.test", "ok 10:mx.example.test 20:mx2.example.test", "MX records with their preferences"),
            ("mx:nullmx.example.test", "ok 0:.", "a null MX (RFC 7505) comes back as preference 0, root exchange"),
            ("a:www.example.test", "ok 127.0.0.1", "A through a chain of two CNAMEs"),
            ("mx:mail.example.test", "ok 10:mx.example.test 20:mx2.example.test", "MX through a CNAME"),
            ("a:nope.example.test", "nxdomain", "a name that does not exist is NXDOMAIN"),
            ("mx:mx.example.test", "nodata", "a name without MX records is NODATA, not NXDOMAIN"),
            ("aaaa:mx2.example.test", "nodata", "a name without AAAA records is NODATA"),
            ("a:dangling.example.test", "nxdomain", "a CNAME to nowhere is NXDOMAIN"),
            ("a:broken.example.test", "temporary", "SERVFAIL is a temporary failure"),
            ("a:outside.invalid", "temporary", "REFUSED is a temporary failure"),
            ("a:big.example.test", "ok 127.0.0.7", "a truncated UDP answer is asked again over TCP"),
            ("ptr:127.0.0.1", "ok mx.example.test", "PTR of an IPv4 address"),
            ("ptr:::1", "ok mx.example.test", "PTR of an IPv6 address (ip6.arpa nibbles)"),
            ("ptr:127.0.0.9", "nxdomain", "an address without PTR"),
            ("a:bad..name", "nxdomain", "a malformed name is NXDOMAIN without a query"),
        ]
        out = dnsq(port, *[c[0] for c in cases], "a:silent.example.test")
        for query, want, what in cases:
            check(out[query]["result"] == want, f"{what}: {query} -> {out[query]['result']!r}")
        silent = out["a:silent.example.test"]
        check(silent["result"] == "timeout" and 1800 <= silent["ms"] <= 3500,
              f"a server that stays silent gives a timeout at dns_timeout (2 s): {silent}")
        check(all(out[c[0]]["ms"] < 1800 for c in cases),
              "the other lookups, made at the same time, did not wait for it")
        check(out["pending"] == 0, "nothing is left pending")
        check(dns.count("big.example.test", "A") == 2 and any(q[0] == "tcp" for q in dns.queries),
              "the truncated answer was asked for over UDP, then TCP")
        check(dns.count("bad..name") == 0, "the malformed name was never sent")

        out = dnsq(port, "client:127.0.0.1", "client:::1", "client:127.0.0.2", "client:127.0.0.3",
                   "client:127.0.0.4", "client:127.0.0.5", "client:127.0.0.6", "client:127.0.0.9", "client:local")
        check(out["client:127.0.0.1"]["result"] == "ok mx.example.test", "PTR, then A back to the address: confirmed")
        check(out["client:::1"]["result"] == "ok mx.example.test", "and for IPv6 through AAAA")
        r = out["client:127.0.0.2"]
        check(r["result"] == "unknown" and r["warnings"] == [
            "hostname nowhere.example.test does not resolve to address 127.0.0.2: Name or service not known"],
              f"a PTR name that does not exist: unknown, with Postfix's warning: {r}")
        check(out["client:127.0.0.3"]["result"] == "ok mx2.example.test",
              "of two PTR names, the one that resolves back is the name")
        r = out["client:127.0.0.4"]
        check(r["result"] == "unknown" and
              r["warnings"] == ["hostname mx.example.test does not resolve to address 127.0.0.4"],
              f"a PTR name whose addresses are others': unknown, with the warning: {r}")
        check(out["client:127.0.0.5"]["result"] == "unknown temporary", "a SERVFAIL on the PTR: unknown, temporary")
        check(out["client:127.0.0.6"]["result"] == "unknown temporary",
              "a PTR answer holding no valid host name: unknown (a malformed answer counts as temporary)")
        check(out["client:127.0.0.9"]["result"] == "unknown", "no PTR at all: unknown, not temporary")
        check(out["client:local"]["result"] == "unknown", "not an address: unknown without a query")

        t = time.monotonic()
        dns.set_zone(ZONE + "drop *\n")
        out = dnsq(port, "client:127.0.0.1", timeout=1)
        check(out["client:127.0.0.1"]["result"] == "unknown temporary" and time.monotonic() - t < 5,
              f"a silent server: the client's name is unknown after the timeout: {out['client:127.0.0.1']}")
    print("test_dns: all passed")


if __name__ == "__main__":
    main()
