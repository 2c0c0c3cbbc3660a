"""authd refuses a client address after too many failed logins: a suite
with auth_failure_limit = 3, auth_failure_window = 60s, auth_failure_ban_time
= 8s and auth_failure_delay = 1s; three wrong passwords over SMTP AUTH on
587 (STARTTLS) from 127.0.0.1 give the fail2ban-style warning, then the right
password is refused too (535, after the same delay) until the ban time has
passed, and accepted after it. Each failure is logged as
`login failed: user=<...>, method=PLAIN, rip=127.0.0.1, ...`."""
import re
import time

from smtp_client import submission_auth
from tern_harness import Suite, check, wait_for

BAN = 8


def login(suite, user, password):
    """(SMTP reply code of AUTH PLAIN on 587 after STARTTLS, seconds AUTH took)."""
    return submission_auth(suite.port(587), user, password)


def main():
    suite = Suite({"auth_failure_limit": "3", "auth_failure_window": "60s", "auth_failure_ban_time": f"{BAN}s",
                   "auth_failure_delay": "1s"})
    try:
        suite.start()
        for i in range(3):
            code, took = login(suite, suite.user, f"wrong-{i}")
            check(code == 535 and took >= 0.9, f"wrong password {i + 1}: {code} after {took:.2f}s")
        banned_at = time.monotonic()
        found = wait_for(lambda: re.search(r"tern/authd\[\d+\]: warning: 127\.0\.0\.1: too many failed logins "
                                           rf"\(3 in 60s\), refused for {BAN}s", suite.log_text()), timeout=10)
        check(found, "the ban is logged in a fail2ban-friendly shape: " + (found.group(0) if found else "(missing)"))
        failure = "login failed: user=<demo@example.test>, method=PLAIN, rip=127.0.0.1, service=smtp: password mismatch"
        check(wait_for(lambda: suite.log_text().count(failure) == 3), "each failure has its log line")

        code, took = login(suite, suite.user, suite.password)
        check(code == 535 and took >= 0.9, f"the right password is refused while banned, after the delay: {code} {took:.2f}s")
        check(time.monotonic() - banned_at < BAN, "(still within the ban time)")
        check(wait_for(lambda: "rip=127.0.0.1, service=smtp: refused: too many failed logins" in suite.log_text()),
              "the refusal is logged as a failed login too")

        remaining = BAN - (time.monotonic() - banned_at)
        time.sleep(max(0.0, remaining) + 0.5)
        code, _ = login(suite, suite.user, suite.password)
        check(code == 235, f"after the ban time the right password is accepted: {code}")
        suite.stop()
    finally:
        suite.cleanup()


if __name__ == "__main__":
    main()
