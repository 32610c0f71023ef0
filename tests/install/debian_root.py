"""The minimal Debian 12 root the install test installs snm's packages into,
made by Debian's mmdebstrap and cached between runs as a tarball.

    tarball = cached_root(deb_files, log)     # built once, then reused
    unpack(tarball, directory)

The root holds the stock mail servers an administrator installs beside snm
(SERVER_PACKAGES), systemd to boot it with (INIT_PACKAGES; mmdebstrap's
apt variant has no init) and every runtime dependency our .debs declare, read from
the .debs themselves, so that `apt-get install ./snm*.deb` inside it later
succeeds with no network: a missing dependency fails the test there, which
is the point. The tarball's name carries a hash of the whole mmdebstrap
command line (packages, mirrors, hooks): a changed package list or command
makes a new root; older tarballs are removed.

Packages come from the suites the host builds our .debs against (bookworm,
its updates and its security suite), so the libraries agree. No package
script starts a service in the root: mmdebstrap moves start-stop-daemon
aside while it installs, and the root has a policy-rc.d refusing every
start from the moment its essential packages are in, kept for the install
test's own `apt-get install` (the test starts the services itself, with
systemctl, once snm.toml is applied). Postfix's debconf question is answered "No
configuration", so /etc/postfix/main.cf is left for snm to write.
mmdebstrap runs in a private mount namespace, so none of its mounts can
outlive it on the host. The cache directory is SNM_INSTALL_TEST_CACHE,
default /var/cache/snm-tests.
"""
import hashlib
import os
import re
import subprocess
import tempfile
from pathlib import Path

SUITE = "bookworm"
MIRRORS = (
    "deb http://deb.debian.org/debian bookworm main",
    "deb http://deb.debian.org/debian bookworm-updates main",
    "deb http://deb.debian.org/debian-security bookworm-security main",
)
SERVER_PACKAGES = ("postfix", "dovecot-imapd", "dovecot-lmtpd", "dovecot-sieve", "dovecot-managesieved",
                   "rspamd", "redis-server")
# The init the root boots with (namespace.py): the units run as systemd runs them.
INIT_PACKAGES = ("systemd",)
# Postfix's own question, answered before Postfix is installed.
POSTFIX_DEBCONF = "postfix postfix/main_mailer_type select No configuration"
# invoke-rc.d and deb-systemd-invoke ask this script and start nothing on 101.
POLICY_RC_D = "#!/bin/sh\n# snm install test root: no package script starts a service.\nexit 101\n"
CACHE_DIR = Path(os.environ.get("SNM_INSTALL_TEST_CACHE", "/var/cache/snm-tests"))
# A cold build downloads ≈100 MB and installs ≈400 packages.
BUILD_TIMEOUT = 1800


def package_name(deb):
    return subprocess.run(["dpkg-deb", "-f", str(deb), "Package"], capture_output=True, text=True,
                          check=True).stdout.strip()


def runtime_dependencies(debs):
    """Every package the .debs' Depends name (first of each set of
    alternatives, without versions), except the .debs' own packages and
    SERVER_PACKAGES, sorted."""
    ours = {package_name(deb) for deb in debs}
    names = set()
    for deb in debs:
        depends = subprocess.run(["dpkg-deb", "-f", str(deb), "Depends"], capture_output=True, text=True,
                                 check=True).stdout
        for clause in filter(None, (c.strip() for c in depends.replace("\n", " ").split(","))):
            first_alternative = clause.split("|")[0]
            names.add(re.sub(r"[\s(:].*$", "", first_alternative.strip()))
    return sorted(names - ours - set(SERVER_PACKAGES))


def mmdebstrap_command(packages, output):
    return ["unshare", "--mount", "--propagation", "private", "--",
            "mmdebstrap", "--variant=apt", "--mode=root", "--format=tar",
            "--include=" + ",".join(packages),
            # The mirror serves a fixed snapshot whose Release files have expired.
            '--aptopt=Acquire::Check-Valid-Until "false"',
            # The root's own policy-rc.d, in place before the servers are installed
            # and kept (mmdebstrap's temporary one would be removed at the end).
            "--skip=chroot/policy-rc.d",
            f"--essential-hook=printf '{POLICY_RC_D}' > \"$1/usr/sbin/policy-rc.d\""
            " && chmod 755 \"$1/usr/sbin/policy-rc.d\"",
            f"--essential-hook=echo '{POSTFIX_DEBCONF}' | chroot \"$1\" debconf-set-selections",
            SUITE, str(output), *MIRRORS]


def cached_root(debs, log):
    """The tarball of a root for `debs`, built now if the cache has none;
    mmdebstrap's output goes to the open file `log`."""
    packages = sorted(set(SERVER_PACKAGES) | set(INIT_PACKAGES) | set(runtime_dependencies(debs)))
    key = hashlib.sha256("\0".join(mmdebstrap_command(packages, "OUTPUT")).encode()).hexdigest()[:16]
    CACHE_DIR.mkdir(parents=True, exist_ok=True)
    tarball = CACHE_DIR / f"debian-{SUITE}-root-{key}.tar"
    if tarball.exists():
        return tarball
    with tempfile.TemporaryDirectory(dir=CACHE_DIR, prefix=".building-") as work:
        partial = Path(work) / tarball.name
        result = subprocess.run(mmdebstrap_command(packages, partial), stdout=log, stderr=subprocess.STDOUT,
                                timeout=BUILD_TIMEOUT)
        if result.returncode != 0:
            raise AssertionError(f"mmdebstrap exited {result.returncode}; its output is in {log.name}")
        partial.rename(tarball)
    for stale in CACHE_DIR.glob(f"debian-{SUITE}-root-*.tar"):
        if stale != tarball:
            stale.unlink()
    return tarball


def unpack(tarball, directory):
    """The root in `directory`, with owners and modes as mmdebstrap made them."""
    subprocess.run(["tar", "-C", str(directory), "--numeric-owner", "--preserve-permissions", "-xf",
                    str(tarball)], check=True)
