#!/usr/bin/env python3
"""A small DNS server for Tern's tests (Python standard library only).

It answers over UDP and TCP on 127.0.0.1, on one port (given, or a free one
it picks), from a zone file, as a recursive resolver would answer a stub
resolver such as c-ares: with the whole CNAME chain and the records at its
end. It counts and records every query, and can be told to fail in the ways
a real resolver fails (SERVFAIL, silence, truncation, slowness), so tests of
smtpd's client names and of the SMTP client's MX lookups need no network.

Zone file (UTF-8 text, one statement per line, '#' starts a comment, names
are case-insensitive, a trailing dot is optional):

    zone example.test               # names at or below it are ours: an unknown
    zone 127.in-addr.arpa           # one gets NXDOMAIN; names outside every
                                    # zone get REFUSED
    mx.example.test      A     127.0.0.1
    mx.example.test      AAAA  ::1
    example.test         MX    10 mx.example.test
    nullmx.example.test  MX    0 .            # RFC 7505 null MX
    1.0.0.127.in-addr.arpa PTR mx.example.test
    www.example.test     CNAME mx.example.test
    example.test         TXT   "v=spf1 -all" "second string"
    example.test         NS    ns.example.test
    servfail broken.example.test    # SERVFAIL for every query of this name
    drop silent.example.test        # never answer this name (a timeout)
    drop *                          # never answer anything
    truncate big.example.test       # over UDP: an empty answer with TC set,
                                    # so the client asks again over TCP
    delay slow.example.test 1.5     # answer after 1.5 seconds
    ttl 300                         # TTL of the records that follow (default 60)

A name that has records, but none of the asked type, gets NOERROR with an
empty answer (NODATA) and the zone's SOA in the authority section; a CNAME
whose target has no records ends the chain there (NXDOMAIN if the target
does not exist, as resolvers answer). Rules (servfail, drop, truncate,
delay) apply to the name asked, whatever its type. The file is read again
when it changes, so a test can change the answers between two queries.
Queries with opcode other than QUERY get NOTIMP; a message with no
question or several gets FORMERR; anything that does not parse is dropped.

Standalone:

    dns_server.py --zone FILE [--port N] [--port-file F] [--log F]

prints "listening 127.0.0.1 PORT" on standard output once both sockets are
bound, then serves until SIGTERM or SIGINT; --log appends one line per
query: "udp|tcp NAME TYPE RESULT" (RESULT: NOERROR, NXDOMAIN, SERVFAIL,
REFUSED, FORMERR, NOTIMP, drop, truncated).

In a test (the same process):

    from dns_server import DnsServer
    with DnsServer(zone_text) as dns:          # or DnsServer(path=FILE)
        ... dns.port ... dns.queries ...      # [(proto, name, type, result)]
        dns.count("1.0.0.127.in-addr.arpa", "PTR")
        dns.set_zone(new_text)                # answers change from now on
"""
import argparse
import ipaddress
import os
import signal
import socket
import socketserver
import struct
import sys
import threading
import time

TYPES = {"A": 1, "NS": 2, "CNAME": 5, "SOA": 6, "PTR": 12, "MX": 15, "TXT": 16, "AAAA": 28, "ANY": 255}
TYPE_NAMES = {v: k for k, v in TYPES.items()}
NOERROR, FORMERR, SERVFAIL, NXDOMAIN, NOTIMP, REFUSED = 0, 1, 2, 3, 4, 5
RCODE_NAMES = {0: "NOERROR", 1: "FORMERR", 2: "SERVFAIL", 3: "NXDOMAIN", 4: "NOTIMP", 5: "REFUSED"}
MAX_CNAME_CHAIN = 8
UDP_LIMIT = 512  # RFC 1035 4.2.1; no EDNS here


def norm(name):
    name = name.strip().lower()
    if name.endswith(".") and name != ".":
        name = name[:-1]
    return name


def encode_name(name):
    name = norm(name)
    if name in ("", "."):
        return b"\x00"
    out = b""
    for label in name.split("."):
        raw = label.encode("ascii")
        if not 0 < len(raw) < 64:
            raise ValueError("bad label in %r" % name)
        out += bytes([len(raw)]) + raw
    return out + b"\x00"


def split_quoted(text):
    """TXT strings: "a b" "c" -> ['a b', 'c']; an unquoted word is one string."""
    out, i = [], 0
    while i < len(text):
        if text[i].isspace():
            i += 1
        elif text[i] == '"':
            j = text.index('"', i + 1)
            out.append(text[i + 1:j])
            i = j + 1
        else:
            j = i
            while j < len(text) and not text[j].isspace():
                j += 1
            out.append(text[i:j])
            i = j
    return out


def strip_comment(line):
    """The line up to a '#' that is not inside a quoted TXT string."""
    quoted = False
    for i, c in enumerate(line):
        if c == '"':
            quoted = not quoted
        elif c == "#" and not quoted:
            return line[:i]
    return line


class Zone:
    """The parsed zone file: records, zones and rules."""

    def __init__(self, text):
        self.zones = set()
        self.records = {}  # name -> [(type, ttl, rdata bytes)]
        self.servfail, self.drop, self.truncate = set(), set(), set()
        self.delay = {}
        ttl = 60
        for n, raw in enumerate(text.splitlines(), 1):
            line = strip_comment(raw).strip()
            if not line:
                continue
            words = line.split()
            key = words[0].lower()
            try:
                if key == "zone":
                    self.zones.add(norm(words[1]))
                elif key in ("servfail", "drop", "truncate"):
                    getattr(self, key).add(norm(words[1]) if words[1] != "*" else "*")
                elif key == "delay":
                    self.delay[norm(words[1])] = float(words[2])
                elif key == "ttl":
                    ttl = int(words[1])
                else:
                    name, rtype = norm(words[0]), words[1].upper()
                    rest = line.split(None, 2)[2] if len(words) > 2 else ""
                    self.records.setdefault(name, []).append((TYPES[rtype], ttl, self.rdata(rtype, rest)))
            except (IndexError, KeyError, ValueError) as e:
                raise ValueError("zone line %d: %r: %s" % (n, raw, e))

    @staticmethod
    def rdata(rtype, rest):
        if rtype == "A":
            return ipaddress.IPv4Address(rest.strip()).packed
        if rtype == "AAAA":
            return ipaddress.IPv6Address(rest.strip()).packed
        if rtype == "MX":
            pref, host = rest.split()
            return struct.pack("!H", int(pref)) + encode_name(host)
        if rtype in ("PTR", "CNAME", "NS"):
            return encode_name(rest.split()[0])
        if rtype == "TXT":
            out = b""
            for s in split_quoted(rest):
                raw = s.encode()
                if len(raw) > 255:
                    raise ValueError("TXT string over 255 bytes")
                out += bytes([len(raw)]) + raw
            return out
        raise ValueError("type %s cannot be given" % rtype)

    def zone_of(self, name):
        best = None
        for z in self.zones:
            if name == z or name.endswith("." + z):
                if best is None or len(z) > len(best):
                    best = z
        return best

    def rule(self, rules, name):
        return "*" in rules or name in rules

    def soa(self, zone):
        rdata = encode_name("ns." + zone) + encode_name("hostmaster." + zone) + struct.pack("!IIIII", 1, 3600, 600, 86400, 60)
        return (zone, TYPES["SOA"], 60, rdata)

    def resolve(self, qname, qtype):
        """(rcode, answers, authority) as a recursive resolver would give."""
        name = norm(qname)
        zone = self.zone_of(name)
        if zone is None:
            return REFUSED, [], []
        answers = []
        for _ in range(MAX_CNAME_CHAIN):
            recs = self.records.get(name)
            zone = self.zone_of(name)
            if recs is None:
                if zone is None:
                    return NOERROR, answers, []  # the chain left our zones: stop there
                return NXDOMAIN, answers, [self.soa(zone)]
            matching = [(name, t, ttl, rd) for t, ttl, rd in recs if t == qtype or qtype == TYPES["ANY"]]
            if matching:
                return NOERROR, answers + matching, []
            cname = [(name, t, ttl, rd) for t, ttl, rd in recs if t == TYPES["CNAME"]]
            if not cname:
                return NOERROR, answers, [self.soa(zone)]  # NODATA
            answers.append(cname[0])
            name = decode_name(cname[0][3], 0)[0]
        return SERVFAIL, [], []  # a CNAME loop


def decode_name(msg, off, depth=0):
    """(name, offset after it); follows compression pointers (bounded)."""
    labels, end = [], None
    jumps = 0
    while True:
        if off >= len(msg):
            raise ValueError("name runs past the message")
        n = msg[off]
        if n == 0:
            off += 1
            break
        if n & 0xC0 == 0xC0:
            if off + 1 >= len(msg) or jumps > 16:
                raise ValueError("bad compression pointer")
            if end is None:
                end = off + 2
            off = ((n & 0x3F) << 8) | msg[off + 1]
            jumps += 1
            continue
        if n > 63 or off + 1 + n > len(msg):
            raise ValueError("bad label")
        labels.append(msg[off + 1:off + 1 + n].decode("ascii", "replace"))
        off += 1 + n
    return ".".join(labels), (end if end is not None else off)


class DnsServer:
    """The server; usable as a context manager in a test's own process."""

    def __init__(self, text=None, path=None, port=0, log=None):
        self.path = path
        self._mtime = None
        self._lock = threading.Lock()
        self.queries = []
        self.log = log
        self.zone = Zone(text if text is not None else self._read())
        self.udp = self.tcp = None
        self.port = self._bind(port)
        self._threads = []

    def _read(self):
        self._mtime = os.stat(self.path).st_mtime_ns
        with open(self.path, encoding="utf-8") as f:
            return f.read()

    def _current_zone(self):
        if self.path:
            try:
                if os.stat(self.path).st_mtime_ns != self._mtime:
                    self.zone = Zone(self._read())
            except (OSError, ValueError) as e:
                print("dns_server: keeping the old zone: %s" % e, file=sys.stderr)
        return self.zone

    def set_zone(self, text):
        with self._lock:
            self.zone = Zone(text)

    def _bind(self, port):
        server = self

        class Udp(socketserver.ThreadingMixIn, socketserver.UDPServer):
            daemon_threads = True
            allow_reuse_address = True

        class Tcp(socketserver.ThreadingMixIn, socketserver.TCPServer):
            daemon_threads = True
            allow_reuse_address = True

        class UdpHandler(socketserver.BaseRequestHandler):
            def handle(self):
                data, sock = self.request
                reply = server.answer(data, "udp")
                if reply is not None:
                    sock.sendto(reply, self.client_address)

        class TcpHandler(socketserver.BaseRequestHandler):
            def handle(self):
                self.request.settimeout(10)
                try:
                    for _ in range(100):  # queries on one connection
                        head = self._read(2)
                        if head is None:
                            return
                        data = self._read(struct.unpack("!H", head)[0])
                        if data is None:
                            return
                        reply = server.answer(data, "tcp")
                        if reply is not None:
                            self.request.sendall(struct.pack("!H", len(reply)) + reply)
                except OSError:
                    return

            def _read(self, n):
                buf = b""
                while len(buf) < n:
                    chunk = self.request.recv(n - len(buf))
                    if not chunk:
                        return None
                    buf += chunk
                return buf

        for _ in range(50):
            udp = Udp(("127.0.0.1", port), UdpHandler)
            chosen = udp.server_address[1]
            try:
                tcp = Tcp(("127.0.0.1", chosen), TcpHandler)
            except OSError:
                udp.server_close()
                if port:
                    raise
                continue
            self.udp, self.tcp = udp, tcp
            return chosen
        raise OSError("no port free for both UDP and TCP")

    def start(self):
        for srv in (self.udp, self.tcp):
            t = threading.Thread(target=srv.serve_forever, kwargs={"poll_interval": 0.1}, daemon=True)
            t.start()
            self._threads.append(t)
        return self

    def stop(self):
        for srv in (self.udp, self.tcp):
            if srv:
                srv.shutdown()
                srv.server_close()
        for t in self._threads:
            t.join(timeout=5)

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()

    def count(self, name=None, qtype=None):
        with self._lock:
            return sum(1 for q in self.queries
                       if (name is None or q[1] == norm(name)) and (qtype is None or q[2] == qtype))

    def _record(self, proto, name, qtype, result):
        entry = (proto, norm(name), TYPE_NAMES.get(qtype, str(qtype)), result)
        with self._lock:
            self.queries.append(entry)
        if self.log:
            with open(self.log, "a") as f:
                f.write(" ".join(entry) + "\n")

    def answer(self, data, proto):
        """The reply to one query message, or None to stay silent."""
        if len(data) < 12:
            return None
        qid, flags, qd, an, ns, ar = struct.unpack("!6H", data[:12])
        if flags & 0x8000:
            return None  # a response, not a query
        opcode = (flags >> 11) & 0xF
        rd = flags & 0x0100
        try:
            qname, off = decode_name(data, 12) if qd >= 1 else ("", 12)
        except ValueError:
            return None
        if qd != 1 or off + 4 > len(data):
            self._record(proto, qname or ".", 0, "FORMERR")
            return self._message(qid, opcode, rd, FORMERR, b"", [], [])
        qtype, qclass = struct.unpack("!HH", data[off:off + 4])
        question = data[12:off + 4]  # echoed as received (case and all)
        if opcode != 0:
            self._record(proto, qname, qtype, "NOTIMP")
            return self._message(qid, opcode, rd, NOTIMP, question, [], [])
        with self._lock:
            zone = self._current_zone()
        name = norm(qname)
        if zone.rule(zone.drop, name):
            self._record(proto, qname, qtype, "drop")
            return None
        delay = zone.delay.get(name)
        if delay:
            time.sleep(delay)  # this request's own thread
        if zone.rule(zone.servfail, name):
            self._record(proto, qname, qtype, "SERVFAIL")
            return self._message(qid, opcode, rd, SERVFAIL, question, [], [])
        rcode, answers, authority = zone.resolve(qname, qtype)
        reply = self._message(qid, opcode, rd, rcode, question, answers, authority)
        if proto == "udp" and (zone.rule(zone.truncate, name) or len(reply) > UDP_LIMIT):
            self._record(proto, qname, qtype, "truncated")
            return self._message(qid, opcode, rd, rcode, question, [], [], tc=True)
        self._record(proto, qname, qtype, RCODE_NAMES[rcode])
        return reply

    @staticmethod
    def _message(qid, opcode, rd, rcode, question, answers, authority, tc=False):
        # QR, the opcode asked, AA, TC when truncated, RD copied, RA.
        flags = 0x8000 | (opcode << 11) | 0x0400 | (0x0200 if tc else 0) | rd | 0x0080 | rcode
        out = struct.pack("!6H", qid, flags, 1 if question else 0, len(answers), len(authority), 0) + question
        for name, rtype, ttl, rdata in answers + authority:
            out += encode_name(name) + struct.pack("!HHIH", rtype, 1, ttl, len(rdata)) + rdata
        return out


def main():
    ap = argparse.ArgumentParser(description="A small DNS server for Tern's tests.")
    ap.add_argument("--zone", required=True, help="zone file (see the header of this program)")
    ap.add_argument("--port", type=int, default=0, help="UDP and TCP port on 127.0.0.1 (default: a free one)")
    ap.add_argument("--port-file", help="write the port here once listening")
    ap.add_argument("--log", help="append one line per query here")
    args = ap.parse_args()
    server = DnsServer(path=args.zone, port=args.port, log=args.log).start()
    if args.port_file:
        with open(args.port_file + ".tmp", "w") as f:
            f.write("%d\n" % server.port)
        os.rename(args.port_file + ".tmp", args.port_file)
    print("listening 127.0.0.1 %d" % server.port, flush=True)
    done = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: done.set())
    signal.signal(signal.SIGINT, lambda *_: done.set())
    while not done.wait(0.5):
        pass
    server.stop()


if __name__ == "__main__":
    main()
