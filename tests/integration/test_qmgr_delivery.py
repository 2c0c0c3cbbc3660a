"""qmgr's scheduling and delivery against a fake delivery agent (fake_agent.py)
serving queue/private/fake: delivered -> removed; deferred -> deferred/ and
retried after the backoff; bounced; an agent that dies mid-request; error:
and discard: routes; a message leaves the queue only when every recipient
is final; restart with messages in deferred/; ternqueue -f; 1,000 messages
with the destination concurrency bounded."""
import os
import re
import smtplib
import subprocess
import time

from fake_agent import FakeAgent
from tern_harness import BIN, Suite, check, wait_for


def decide(address, attempt):
    local, domain = address.split("@")
    if domain == "defer.test":
        return ("deferred", "4.2.0", "450 4.2.0 try later") if attempt <= 2 else ("delivered", "2.0.0", "250 2.0.0 Ok")
    if domain == "bounce.test":
        return ("bounced", "5.1.1", "550 5.1.1 no such user")
    if domain == "die.test":
        return "die" if attempt == 1 else ("delivered", "2.0.0", "250 2.0.0 Ok")
    if domain == "hold.test":
        return ("deferred", "4.4.1", "connect to hold.test: Connection refused")
    return ("delivered", "2.0.0", f"250 2.0.0 <{address}> Ok")


def send(suite, rcpts, sender="alice@example.org", subject="test"):
    s = smtplib.SMTP("127.0.0.1", suite.port(25), timeout=20)
    s.sendmail(sender, rcpts, f"Subject: {subject}\r\n\r\nhello\r\n".encode())
    s.quit()


def queue_id_for(suite, rcpt, seen):
    def find():
        for m in re.finditer(r"(\w{17}): to=<" + re.escape(rcpt) + ">", suite.log_text()):
            if m.group(1) not in seen:
                return m.group(1)
        return None
    qid = wait_for(find, timeout=15)
    check(qid, f"qmgr logs a delivery attempt for {rcpt}")
    seen.add(qid)
    return qid


def in_queue(suite, qid):
    return qid in suite.queue_files("incoming", "active", "deferred")


def main():
    suite = Suite({"mynetworks": "127.0.0.0/8", "queue_run_delay": "1s", "minimal_backoff_time": "1s", "maximal_backoff_time": "2s",
                   "transport_retry_time": "1s", "fake_destination_concurrency_limit": "3",
                   "fake_destination_recipient_limit": "5"})
    agent = None
    try:
        tmap = os.path.join(suite.dir, "transport")
        with open(tmap, "w") as f:
            f.write("ok.test fake:\ndefer.test fake:\nbounce.test fake:\ndie.test fake:\nhold.test fake:\n"
                    ".sub.test fake:[relay.sub.test]:2525\n"
                    "err.test error:5.1.2 this domain takes no mail\ndrop.test discard:dropped by policy\n")
        suite.configure({"transport_maps": "texthash:" + tmap})
        suite.start()
        agent = FakeAgent(os.path.join(suite.queue, "private", "fake"), decide)
        seen = set()

        send(suite, ["a@ok.test"])
        qid = queue_id_for(suite, "a@ok.test", seen)
        check(wait_for(lambda: f"{qid}: removed" in suite.log_text(), timeout=10), "a delivered message is removed")
        line = [l for l in suite.log_text().splitlines() if f"{qid}: to=<a@ok.test>" in l][0]
        check(re.search(r"relay=fake\.test\[127\.0\.0\.1\]:25, delay=[0-9.]+, delays=[0-9.]+/[0-9.]+/0\.01/0\.02, "
                        r"dsn=2\.0\.0, status=sent \(250 2\.0\.0 <a@ok\.test> Ok\)", line),
              f"the log line has Postfix's shape: {line}")
        check(not in_queue(suite, qid), "and its file has left the queue")
        req = [r for r in agent.requests if r[0] == qid][0]
        check(req[1] == "ok.test", f"an empty next hop in transport_maps is the recipient's domain: {req}")

        send(suite, ["x@deep.sub.test"])
        qid = queue_id_for(suite, "x@deep.sub.test", seen)
        req = wait_for(lambda: [r for r in agent.requests if r[0] == qid])
        check(req and req[0][1] == "[relay.sub.test]:2525", f".parent entries match subdomains: {req}")

        send(suite, ["b@defer.test"])
        qid = queue_id_for(suite, "b@defer.test", seen)
        check(wait_for(lambda: f"{qid}: to=<b@defer.test>" in suite.log_text() and
                       "status=deferred (450 4.2.0 try later)" in suite.log_text(), timeout=10),
              "a 4xx answer is logged as deferred with its reason")
        check(wait_for(lambda: qid in suite.queue_files("deferred"), timeout=5) or
              f"{qid}: removed" in suite.log_text(), "the message waits in deferred/")
        check(wait_for(lambda: f"{qid}: removed" in suite.log_text(), timeout=20),
              "and is retried after the backoff until delivered, then removed")
        check(agent.attempts["b@defer.test"] == 3, f"three attempts: {agent.attempts['b@defer.test']}")

        send(suite, ["c@bounce.test"])
        qid = queue_id_for(suite, "c@bounce.test", seen)
        check(wait_for(lambda: "status=bounced (550 5.1.1 no such user)" in suite.log_text() and
                       f"{qid}: removed" in suite.log_text(), timeout=10),
              "a 5xx answer bounces the recipient and the message leaves the queue")
        check(wait_for(lambda: f"{qid}: sender non-delivery notification:" in suite.log_text()),
              "a bounce notice (DSN) was queued for the sender")

        send(suite, ["d@die.test"])
        qid = queue_id_for(suite, "d@die.test", seen)
        check(wait_for(lambda: "lost connection with delivery agent" in suite.log_text(), timeout=10),
              "an agent that dies mid-request leaves its recipient deferred")
        check(wait_for(lambda: f"{qid}: removed" in suite.log_text(), timeout=20), "and it is delivered on the retry")

        send(suite, ["e@err.test", "f@drop.test"])
        qid = queue_id_for(suite, "e@err.test", seen)
        check(wait_for(lambda: f"{qid}: removed" in suite.log_text(), timeout=10), "error: and discard: are final")
        text = suite.log_text()
        check(f"{qid}: to=<e@err.test>, relay=none" in text and "dsn=5.1.2, status=bounced (this domain takes no mail)" in text,
              "error: bounces with its text and code")
        check("dsn=2.0.0, status=sent (dropped by policy)" in text, "discard: is logged as sent with its text")

        # One recipient delivered, one deferred for good: the message stays,
        # with the delivered one recorded in the file.
        send(suite, ["g@ok.test", "h@hold.test"])
        qid = queue_id_for(suite, "g@ok.test", seen)
        files = wait_for(lambda: suite.queue_files("deferred").get(qid), timeout=10)
        check(files, "a message with a deferred recipient waits in deferred/")
        check(re.search(rb"RCPT delivered *\tTO=g@ok\.test", files) and re.search(rb"RCPT pending *\tTO=h@hold\.test", files),
              "the delivered recipient is marked in the queue file, the other still pending")
        check(f"{qid}: removed" not in suite.log_text(), "it does not leave while a recipient is not final")
        r = subprocess.run([os.path.join(BIN, "ternqueue"), "-c", suite.dir, "-p"], capture_output=True, text=True)
        check("connect to hold.test: Connection refused" in r.stdout and "h@hold.test" in r.stdout,
              f"mailq shows the deferred recipient with its latest reason (the defer/ log): {r.stdout}")
        attempts = agent.attempts.get("h@hold.test", 0)
        check(wait_for(lambda: agent.attempts.get("h@hold.test", 0) > attempts, timeout=10), "it is retried")
        check(agent.attempts.get("g@ok.test") == 1, "the delivered recipient is never sent again")

        # Restart with the message in deferred/: nothing lost.
        suite.stop()
        agent.close()
        check(qid in suite.queue_files("deferred", "active"), "after a stop the message is still queued")
        suite.start()
        agent = FakeAgent(os.path.join(suite.queue, "private", "fake"), decide)
        attempts = agent.attempts.get("h@hold.test", 0)
        check(wait_for(lambda: agent.attempts.get("h@hold.test", 0) > 0, timeout=15),
              "after a restart the deferred message is tried again")
        check(agent.attempts.get("g@ok.test") is None and in_queue(suite, qid), "only its pending recipient")

        # ternqueue -f brings it back at once, even with a long backoff.
        suite.configure({"minimal_backoff_time": "1h", "maximal_backoff_time": "2h", "queue_run_delay": "1h"})
        suite.ctl("reload")
        time.sleep(2)
        before = agent.attempts.get("h@hold.test", 0)
        r = subprocess.run([os.path.join(BIN, "ternqueue"), "-c", suite.dir, "-f"], capture_output=True, text=True)
        check(r.returncode == 0, f"ternqueue -f succeeds: {r.stderr}")
        check(wait_for(lambda: agent.attempts.get("h@hold.test", 0) > before, timeout=10),
              "ternqueue -f retries the deferred message now")

        # 1,000 messages, concurrency bounded per destination.
        agent.delay = 0.002
        t0 = time.time()
        s = smtplib.SMTP("127.0.0.1", suite.port(25), timeout=30)
        for i in range(1000):
            s.sendmail("bulk@example.org", [f"u{i}@ok.test"], b"Subject: bulk\r\n\r\nx\r\n")
        s.quit()
        check(wait_for(lambda: suite.log_text().count(": removed") >= 1000 + 6, timeout=120, step=0.5),
              f"1,000 messages delivered and removed ({suite.log_text().count(': removed')} removed)")
        print(f"1000 messages through the fake agent in {time.time() - t0:.1f}s; "
              f"most requests at once to ok.test: {agent.max_in_progress.get('ok.test')}")
        check(agent.max_in_progress.get("ok.test", 0) <= 3,
              f"never more than fake_destination_concurrency_limit=3 at once: {agent.max_in_progress}")
        suite.stop()
        check("panic:" not in suite.log_text(), "no daemon panicked")
    finally:
        if agent:
            agent.close()
        suite.cleanup()


if __name__ == "__main__":
    main()
