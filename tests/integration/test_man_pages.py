"""Every man page renders: `man -l` prints it without error and `groff -ww`
has no warning about it; and every program and configuration file has its
page. Exit status: 0 pass, 1 fail, 77 skip when man or groff is missing."""
import glob
import os
import shutil
import subprocess

from tern_harness import check, fail, skip

SOURCE = os.environ.get("TERN_SOURCE_DIR") or os.path.join(os.path.dirname(__file__), "..", "..")
MAN = os.path.join(os.path.abspath(SOURCE), "man")

# One page per program that exists, and the two configuration files.
REQUIRED = ["master.8", "ternctl.1", "ternconf.1", "ternmap.1", "tern.cf.5", "tern-master.cf.5",
            "sendmail.1", "terndrop.8", "pickup.8", "smtp-client.8",
            "imapd.8"]


def main():
    for tool in ("man", "groff"):
        if shutil.which(tool) is None:
            skip(f"{tool} is not installed")
    if not os.path.isdir(MAN):
        fail(f"no man directory at {MAN} (set TERN_SOURCE_DIR)")
    for name in REQUIRED:
        check(os.path.isfile(os.path.join(MAN, name)), f"man/{name} exists")
    pages = sorted(p for ext in ("1", "5", "8") for p in glob.glob(os.path.join(MAN, "*." + ext)))
    env = dict(os.environ, MANWIDTH="80", LC_ALL="C.UTF-8")
    for page in pages:
        name = os.path.basename(page)
        r = subprocess.run(["man", "-l", "-P", "cat", page], capture_output=True, text=True, env=env, timeout=60)
        check(r.returncode == 0 and r.stdout.strip() != "",
              f"man -l renders {name}: exit {r.returncode}, {len(r.stdout)} bytes {r.stderr.strip()[:300]}")
        r = subprocess.run(["groff", "-man", "-ww", "-z", page], capture_output=True, text=True, env=env, timeout=60)
        check(r.returncode == 0 and r.stderr.strip() == "",
              f"groff -man -ww reports no warning for {name}: {r.stderr.strip()[:600]}")


if __name__ == "__main__":
    main()
