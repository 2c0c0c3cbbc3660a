"""qmgr takes each new message from incoming/ into active/ at once and logs
it; mailq (ternqueue -p), its JSON form (-j) and terncat show it exactly."""
import json
import os
import smtplib
import subprocess

from tern_harness import HOLD_MAIL, BIN, Suite, check, wait_for


def tool(suite, name, *args):
    return subprocess.run([os.path.join(BIN, name), "-c", suite.dir, *args], capture_output=True, text=True,
                          timeout=60)


def main():
    suite = Suite({"queue_run_delay": "1h", **HOLD_MAIL})  # only the wake-ups may move it in time
    try:
        suite.start()
        check(wait_for(lambda: "qmgr" in tool(suite, "ternctl", "status").stdout and
                       "starts on demand" not in [l for l in tool(suite, "ternctl", "status").stdout.splitlines()
                                                  if l.startswith("qmgr")][0]),
              "qmgr runs from master's start (its wakeup column)")
        s = smtplib.SMTP("127.0.0.1", suite.port(25), timeout=10)
        s.sendmail("alice@example.org", ["demo+tag@example.test", "postmaster@example.test"],
                   b"Subject: queued\r\n\r\nhello\r\n")
        s.quit()
        active = wait_for(lambda: suite.queue_files("active"), timeout=5)
        check(active and not suite.queue_files("incoming"), "the message moves from incoming/ to active/ within seconds")
        qid = next(iter(active))
        check(wait_for(lambda: f"{qid}: from=<alice@example.org>, size=" in suite.log_text() and
                       "nrcpt=2 (queue active)" in suite.log_text()),
              "qmgr logs it the way Postfix does: ID: from=<...>, size=..., nrcpt=2 (queue active)")

        r = tool(suite, "ternqueue", "-p")
        lines = r.stdout.splitlines()
        check(r.returncode == 0 and any(l.startswith(qid + "*") and "alice@example.org" in l for l in lines),
              f"mailq lists it as active (*) with its sender: {r.stdout}")
        check(any(l.strip() == "demo+tag@example.test" for l in lines) and any(l.strip() == "demo@example.test" for l in lines),
              "and both final recipients (postmaster@ expanded to the administrator by alias_maps)")
        check(lines[-1] == "-- 1 Kbytes in 1 Request.", f"and the summary line: {lines[-1]!r}")
        r = tool(suite, "ternqueue", "-j")
        doc = json.loads(r.stdout.splitlines()[0])
        check(doc["queue_name"] == "active" and doc["queue_id"] == qid and doc["sender"] == "alice@example.org" and
              [x["address"] for x in doc["recipients"]] == ["demo+tag@example.test", "demo@example.test"],
              f"ternqueue -j gives the same as JSON: {doc}")
        check(b"TO=demo@example.test\toriginal=postmaster@example.test" in active[qid],
              "the expanded recipient records the address it came from")
        r = tool(suite, "terncat", qid)
        check(r.returncode == 0 and "alice@example.org" in r.stdout and "Subject: queued" in r.stdout and "hello" in r.stdout,
              "terncat shows the envelope and the message")
        r = tool(suite, "ternqueue", "-i", "NOSUCHID")
        check(r.returncode != 0, "ternqueue -i of an unknown ID fails")
        suite.stop()
        check("panic:" not in suite.log_text(), "no daemon panicked, at work or while stopping")
    finally:
        suite.cleanup()


if __name__ == "__main__":
    main()
