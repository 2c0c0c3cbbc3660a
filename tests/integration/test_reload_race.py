#!/usr/bin/env python3
"""Quick reloads while mail arrives: after each pair of `ternctl reload`s a
message sent by SMTP is answered (a greeting, then 250) and leaves
incoming/ within seconds, because master keeps running and a new qmgr takes
it at once.

Two races this guards against:
- master woke resident services before stopping the old processes, so the
  old qmgr could take the wake-up and exit, and the new one waited for its
  next tick with mail piling up in incoming/;
- a reload's SIGTERM that reached a child between fork and exec ran
  master's libevent handler, which wrote into master's own signal
  socketpair: master took it for its own SIGTERM and stopped (no greeting,
  connections reset, mail left in incoming/). About one run in eight failed
  with 5 rounds before master/spawn.cc blocked signals across fork."""
import os
import smtplib
import subprocess

from tern_harness import HOLD_MAIL, BIN, Suite, check, wait_for


ROUNDS = 12


def tool(suite, name, *args):
    return subprocess.run([os.path.join(BIN, name), "-c", suite.dir, *args], capture_output=True, text=True,
                          timeout=60)


def main():
    suite = Suite({"queue_run_delay": "1h", **HOLD_MAIL})  # only a running qmgr moves mail in time
    try:
        suite.start()
        for round in range(ROUNDS):
            for _ in range(2):
                r = tool(suite, "ternctl", "reload")
                check(r.returncode == 0, f"ternctl reload: {r.stdout} {r.stderr}")
            s = smtplib.SMTP("127.0.0.1", suite.port(25), timeout=10)
            s.sendmail("alice@example.org", ["demo@example.test"], f"Subject: reload {round}\r\n\r\nhi\r\n".encode())
            s.quit()
            check(wait_for(lambda: not suite.queue_files("incoming"), timeout=10),
                  f"after two quick reloads (round {round + 1} of {ROUNDS}), a new qmgr takes new mail from incoming/")
        check("stopping:" not in suite.log_text(), "master never stopped on its own during the reloads")
        suite.stop()
    finally:
        suite.cleanup()


if __name__ == "__main__":
    main()
