"""qmgr's notices and flushes for mail to other hosts, end to end (smtpd ->
qmgr -> smtp-client -> a fake SMTP peer, the notices delivered into the
sender's Maildir): a "relayed" success report when the peer offers no DSN
and the recipient asked NOTIFY=SUCCESS; one delay report per message after
delay_warning_time, only for recipients that want one, not again after a
restart; ternqueue -s (and sendmail -qRsite) retrying one domain now while
another waits."""
import email
import email.policy
import os
import re
import smtplib
import subprocess
import time

from lmtp_peer import Peer
from tern_harness import BIN, Suite, check, free_port, wait_for

DOMAIN = "example.test"
SENDER = f"demo@{DOMAIN}"


def send(suite, rcpts, rcpt_options=(), subject="t"):
    s = smtplib.SMTP("127.0.0.1", suite.port(25), timeout=20)
    s.ehlo()
    s.mail(SENDER)
    for r in rcpts:
        code, msg = s.rcpt(r, list(rcpt_options.get(r, ())) if isinstance(rcpt_options, dict) else [])
        if code != 250:
            raise SystemExit(f"FAIL: RCPT {r}: {code} {msg}")
    s.data(f"Subject: {subject}\r\n\r\nhello\r\n".encode())
    s.quit()


def reports(suite):
    """The delivery reports in demo's Maildir: [(action list, final recipients, message)]."""
    new = os.path.join(suite.dir, "mail", DOMAIN, "demo", "Maildir", "new")
    out = []
    if not os.path.isdir(new):
        return out
    for n in sorted(os.listdir(new)):
        with open(os.path.join(new, n), "rb") as f:
            msg = email.message_from_bytes(f.read(), policy=email.policy.compat32)
        if msg.get_content_type() != "multipart/report":
            continue
        actions, finals = [], []
        for part in msg.walk():
            if part.get_content_type() == "message/delivery-status":
                for block in part.get_payload():
                    if block.get("Action"):
                        actions.append(block.get("Action").strip())
                        finals.append(block.get("Final-Recipient", "").split(";")[-1].strip())
        out.append((actions, finals, msg))
    return out


def queue_status(suite, qid):
    for root, _, files in os.walk(os.path.join(suite.queue)):
        # The queue file, in active/ or deferred/<hash>/; not its defer/ log.
        if qid in files and "defer" not in root.split(os.sep):
            with open(os.path.join(root, qid), "rb") as f:
                data = f.read()
            return {m.group(2).decode(): m.group(1).decode().strip()
                    for m in re.finditer(rb"^RCPT (\S+ *)\tTO=([^\t\n]+)", data, re.M)}
    return {}


def qid_for(suite, rcpt):
    m = wait_for(lambda: re.search(r"(\w{17}): to=<" + re.escape(rcpt) + ">", suite.log_text()), timeout=20)
    return m.group(1) if m else None


def main():
    dead = free_port()
    nodsn = Peer(lmtp=False, dsn=False)
    peers = [nodsn]
    suite = Suite({"mynetworks": "127.0.0.0/8", "queue_run_delay": "1s", "minimal_backoff_time": "1s",
                   "maximal_backoff_time": "1s", "delay_warning_time": "3s", "smtp_connect_timeout": "2s"},
                  domain=DOMAIN)
    try:
        tmap = os.path.join(suite.dir, "transport")
        with open(tmap, "w") as f:
            f.write(f"dead.test smtp:[127.0.0.1]:{dead}\nnodsn.test smtp:[127.0.0.1]:{nodsn.port}\n")
        suite.configure({"transport_maps": f"texthash:{tmap}"})
        suite.start()

        # --- relayed: no DSN at the next hop, NOTIFY=SUCCESS --------------------
        send(suite, ["bob@nodsn.test"], {"bob@nodsn.test": ["NOTIFY=SUCCESS"]}, subject="relayed")
        got = wait_for(lambda: [r for r in reports(suite) if "relayed" in r[0]], timeout=20)
        check(got and got[0][1] == ["bob@nodsn.test"] and len(nodsn.sessions[-1]["messages"]) == 1 and
              "NOTIFY" not in " ".join(nodsn.sessions[-1]["commands"]),
              f"a peer without DSN took it: a success report with Action: relayed reaches the sender: "
              f"{[r[:2] for r in reports(suite)]}")

        # --- one delay report per message -------------------------------------------
        send(suite, ["x@dead.test", "y@dead.test"], {"y@dead.test": ["NOTIFY=FAILURE"]}, subject="delayed")
        qid = qid_for(suite, "x@dead.test")
        line = wait_for(lambda: re.search(qid + r": sender delay notification: (\w+)", suite.log_text()), timeout=30)
        check(line, f"after delay_warning_time the message gets a delay notification: {qid}")
        got = wait_for(lambda: [r for r in reports(suite) if "delayed" in r[0]], timeout=20)
        check(got and got[0][0] == ["delayed"] and got[0][1] == ["x@dead.test"] and
              "Will-Retry-Until" in got[0][2].as_string(),
              f"one report, Action: delayed with Will-Retry-Until, only for the recipient without NOTIFY "
              f"(y asked NOTIFY=FAILURE): {got[0][:2] if got else None}")
        st = wait_for(lambda: queue_status(suite, qid).get("x@dead.test") == "delayed" and queue_status(suite, qid),
                      timeout=10)
        check(st and st.get("y@dead.test") == "pending",
              f"x is marked delayed in the queue file, y stays pending: {st}")
        attempts = len(re.findall(qid + r": to=<x@dead.test>.*status=deferred", suite.log_text()))
        wait_for(lambda: len(re.findall(qid + r": to=<x@dead.test>.*status=deferred", suite.log_text())) >= attempts + 3,
                 timeout=20)
        suite.stop()
        suite.start()
        time.sleep(4)
        log = suite.log_text()
        n_attempts = len(re.findall(qid + r": to=<x@dead.test>.*status=deferred", log))
        n_reports = len(re.findall(qid + r": sender delay notification", log))
        check(n_attempts >= attempts + 3 and n_reports == 1 and
              len([r for r in reports(suite) if "delayed" in r[0]]) == 1,
              f"later attempts and a restart send no second report ({n_attempts} attempts, {n_reports} report)")
        suite.stop()

        # --- ternqueue -s: one domain now, the others wait ------------------------------
        other = free_port()
        with open(tmap, "w") as f:
            f.write(f"dead.test smtp:[127.0.0.1]:{dead}\nother.test smtp:[127.0.0.1]:{other}\n")
        suite.configure({"minimal_backoff_time": "1h", "maximal_backoff_time": "1h", "queue_run_delay": "1h",
                         "delay_warning_time": "0"})
        suite.start()
        send(suite, ["a@dead.test"], subject="site one")
        send(suite, ["b@other.test"], subject="site two")
        for r in ("a@dead.test", "b@other.test"):
            check(wait_for(lambda: re.search(r"to=<" + re.escape(r) + ">.*status=deferred", suite.log_text()), timeout=20),
                  f"{r} is deferred while its host is down")
        # The deferred line is logged before the file reaches deferred/; a
        # message still in active/ is not a candidate for ternqueue -s (as with
        # Postfix's flush), so wait for these two files, not any two.
        qids = [qid_for(suite, "a@dead.test"), qid_for(suite, "b@other.test")]
        check(wait_for(lambda: all(q in suite.queue_files("deferred") for q in qids), timeout=20),
              f"both wait in deferred/: {qids}")
        p1 = Peer(lmtp=False, bind=("127.0.0.1", dead))
        p2 = Peer(lmtp=False, bind=("127.0.0.1", other))
        peers += [p1, p2]
        r = subprocess.run([os.path.join(BIN, "ternqueue"), "-c", suite.dir, "-s", "DEAD.test"],
                           capture_output=True, text=True, timeout=30)
        check(r.returncode == 0, f"ternqueue -s DEAD.test: {r.returncode} {r.stderr}")
        ok = wait_for(lambda: re.search(r"to=<a@dead.test>.*status=sent", suite.log_text()), timeout=20)
        time.sleep(1)
        check(ok and not re.search(r"to=<b@other.test>.*status=sent", suite.log_text()) and
              not p2.sessions and len(p1.sessions) >= 1,
              "ternqueue -s retries that domain's mail now (the domain compared without case); "
              f"the other domain's waits for its backoff (a sent: {bool(ok)}, sessions at dead.test: "
              f"{len(p1.sessions)}, at other.test: {len(p2.sessions)}; log: "
              f"{[l for l in suite.log_text().splitlines() if any(q and q in l for q in qids)][-8:]})")
        r = subprocess.run([os.path.join(BIN, "ternqueue"), "-c", suite.dir, "-s", "bad domain;"],
                           capture_output=True, text=True, timeout=30)
        check(r.returncode == 1 and "bad domain" in r.stderr, f"a malformed domain is refused: {r.stderr.strip()}")
        r = subprocess.run([os.path.join(BIN, "sendmail"), "-C", suite.dir, "-qRother.test"], capture_output=True,
                           text=True, timeout=30)
        check(r.returncode == 0 and
              wait_for(lambda: re.search(r"to=<b@other.test>.*status=sent", suite.log_text()), timeout=20),
              f"and sendmail -qRother.test (ternqueue -s other.test) sends the other: {r.stderr.strip()}")
        suite.stop()
        log = suite.log_text()
        check("panic:" not in log and "fatal:" not in log, "no daemon panicked")
    finally:
        for p in peers:
            p.stop()
        suite.cleanup()


if __name__ == "__main__":
    main()
