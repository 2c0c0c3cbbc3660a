"""cmake --install lays out a real system under its prefix, and nothing else:
daemons in libexec/tern, tools in sbin, configuration in sysconfdir/tern,
man pages in their sections; programs built only for tests stay out; the
installed tools have the install prefix's configuration directory compiled in."""
import os
import shutil
import subprocess
import tempfile

from tern_harness import BIN, check, skip


def cache_value(build, name):
    with open(os.path.join(build, "CMakeCache.txt")) as f:
        for line in f:
            if line.startswith(name + ":"):
                return line.split("=", 1)[1].strip()
    return None


def main():
    build = os.environ.get("TERN_BUILD_DIR")
    if not build or not os.path.exists(os.path.join(build, "CMakeCache.txt")):
        skip("TERN_BUILD_DIR is not a CMake build directory")
    prefix = cache_value(build, "CMAKE_INSTALL_PREFIX")
    dest = tempfile.mkdtemp(prefix="tern-install.")
    try:
        r = subprocess.run(["cmake", "--install", build], env=dict(os.environ, DESTDIR=dest),
                           capture_output=True, text=True, timeout=120)
        check(r.returncode == 0, f"cmake --install succeeds: {r.stderr.strip()[-300:]}")
        root = dest + prefix
        etc = "/etc" if prefix == "/usr" else os.path.join(prefix, "etc")
        expected = [
            f"{root}/libexec/tern/master", f"{root}/libexec/tern/anvil",
            f"{root}/sbin/ternctl", f"{root}/sbin/ternconf", f"{root}/sbin/ternmap",
            f"{root}/libexec/tern/qmgr", f"{root}/libexec/tern/showq",
            f"{root}/sbin/ternqueue", f"{root}/sbin/terncat", f"{root}/sbin/ternsuper", f"{root}/sbin/ternadm",
            f"{dest}{etc}/tern/main.cf", f"{dest}{etc}/tern/master.cf",
            f"{root}/share/man/man8/master.8", f"{root}/share/man/man8/anvil.8", f"{root}/share/man/man1/ternctl.1",
            f"{root}/share/man/man1/ternconf.1", f"{root}/share/man/man1/ternmap.1",
            f"{root}/share/man/man1/ternqueue.1", f"{root}/share/man/man1/ternsuper.1", f"{root}/share/man/man1/ternadm.1",
            f"{root}/share/man/man8/qmgr.8", f"{root}/share/man/man8/showq.8",
            f"{root}/share/man/man5/tern.cf.5", f"{root}/share/man/man5/tern-master.cf.5",
            f"{root}/libexec/tern/pickup",
            f"{root}/sbin/sendmail", f"{root}/sbin/terndrop", f"{root}/bin/mailq", f"{root}/bin/newaliases",
            f"{root}/share/man/man1/sendmail.1", f"{root}/share/man/man8/terndrop.8",
            f"{root}/share/man/man8/pickup.8",
            f"{root}/libexec/tern/lmtp-deliver", f"{root}/share/man/man8/lmtp-deliver.8",
            f"{root}/libexec/tern/smtp-client", f"{root}/share/man/man8/smtp-client.8",
            f"{root}/libexec/tern/imapd", f"{root}/share/man/man8/imapd.8",
            f"{root}/libexec/tern/imap-login", f"{root}/share/man/man8/imap-login.8",
        ]
        missing = [p for p in expected if not os.path.exists(p)]
        check(not missing, f"every program, tool, config file and man page is installed: missing {missing}")
        everything = []
        for d, _, files in os.walk(dest):
            everything += [os.path.join(d, f)[len(dest):] for f in files]
        outside = [p for p in everything if not (p.startswith(prefix + "/") or p.startswith(etc + "/"))]
        check(not outside, f"nothing is installed outside the prefix and its sysconfdir: {outside[:5]}")
        # mailq and newaliases are sendmail under other names.
        for alias in ("mailq", "newaliases"):
            link = f"{root}/bin/{alias}"
            check(os.path.islink(link) and os.path.realpath(link) == os.path.realpath(f"{root}/sbin/sendmail"),
                  f"bin/{alias} is a link to sbin/sendmail")
        test_only = [p for p in everything if "testsvc" in p or "unit_tests" in p or "_replay" in p]
        check(not test_only, f"programs built only for tests are not installed: {test_only}")
        # The compiled-in default configuration directory follows the prefix.
        r = subprocess.run([os.path.join(BIN, "ternconf"), "-d", "config_directory"], capture_output=True, text=True)
        check(r.stdout.strip() == f"config_directory = {etc}/tern",
              f"the default configuration directory is {etc}/tern: {r.stdout.strip()}")
    finally:
        shutil.rmtree(dest, ignore_errors=True)


if __name__ == "__main__":
    main()
