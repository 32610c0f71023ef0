"""A mail server made the way an administrator makes one on Debian 12, for
the install test: snm's .debs installed offline into a fresh minimal root,
/etc/snm/snm.toml written, `snmctl apply`, and every service started with
the command line its installed unit file gives — all inside private mount,
PID and network namespaces with loopback only.

    server = DebianServer()
    server.bring_up()                 # every phase timed (timing.py)
    server.client("submit", …)        # mail_client.py on the server's loopback
    server.snmctl("apply", "-c", CONFIG_PATH)
    server.diagnostics()              # logs and processes, for a failure
    server.close()                    # nothing of it is left on the host

The .debs are built with contrib/build-deb, or taken from SNM_DEB_DIR. The
root comes from debian_root.py's cache. Everything lives in one temporary
directory (prefix TMP_PREFIX: contrib/run-tests looks for leftovers by it):
the root, the .debs, and LOG_DIR with each service's stdout and stderr, the
root's syslog (ns_init.py's sink: Postfix's and Dovecot's logs) and the
output of every administrative command.
"""
import json
import os
import re
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

import debian_root
from namespace import HOST_PYTHON, Namespace
from systemd_unit import ServiceUnit, start_service, tail
from timing import phase

SOURCE_ROOT = Path(__file__).resolve().parents[2]
TMP_PREFIX = "snm-install-test-"
CONFIG_PATH = "/etc/snm/snm.toml"
DEB_STAGING = "/var/cache/snm-install-test"  # inside the root
CLIENT = Path(__file__).with_name("mail_client.py")
# In the order systemd's After=/Before= put them: each one's servers first.
SERVICES = ("redis-server.service", "rspamd.service", "snm-policyd.service", "snm-dkim-milter.service",
            "dovecot.service", "postfix@-.service")
# The listeners the client uses: SMTP, submission, IMAP.
CLIENT_PORTS = (25, 587, 143)
DOMAIN = "example.com"
PASSWORDS = {"user1@example.com": "first secret 1", "user2@example.com": "first secret 2"}
# Seconds: contrib/build-deb, and the listeners after the services start
# (rspamd compiles its patterns on a first start).
DEB_BUILD_TIMEOUT = 1200
READY_TIMEOUT = 120
APT_TIMEOUT = 300
LOG_TAIL_LINES = 40
# Files under the root's /var/log that say nothing about the mail servers.
UNRELATED_LOGS = ("apt", "dpkg.log", "alternatives.log", "bootstrap.log", "faillog", "lastlog", "wtmp", "btmp")


def snm_toml(hashes):
    """The configuration under test: one domain, two accounts, DKIM on, no clamd."""
    accounts = "".join(f'\n[loginAccounts."{user}"]\nhashedPassword = "{hashed}"\n' for user, hashed in hashes.items())
    return f"""# snm.toml of snm's Debian install test (tests/install).
fqdn = "mail.{DOMAIN}"
domains = [ "{DOMAIN}" ]
certificateScheme = "selfsigned"
enableImap = true
enableSubmission = true
dkimSigning = true
# The root has no clamd.
virusScanning = false
{accounts}"""


class DebianServer:
    def __init__(self):
        self.work = Path(tempfile.mkdtemp(prefix=TMP_PREFIX))
        self.root = self.work / "root"
        self.log_dir = self.work / "log"
        self.root.mkdir()
        self.log_dir.mkdir()
        self.namespace = None
        self.debs = []
        self.services = {}  # unit name -> RunningService
        self.passwords = dict(PASSWORDS)
        self.hashes = {}  # user -> hashedPassword in snm.toml

    # --- bringing it up ---------------------------------------------------------------
    def bring_up(self):
        if os.geteuid() != 0:
            raise AssertionError("the install test needs root (namespaces, chroot, Postfix's and Dovecot's users)")
        self.debs = self.built_debs()
        with phase("Debian root from the cache (built when missing)"), \
                open(self.log_dir / "mmdebstrap.log", "ab") as log:
            tarball = debian_root.cached_root(self.debs, log)
        with phase("unpack the root"):
            debian_root.unpack(tarball, self.root)
            staging = self.root / DEB_STAGING.lstrip("/")
            staging.mkdir(parents=True)
            for deb in self.debs:
                shutil.copy(deb, staging)
        with phase("start the namespaces"):
            self.namespace = Namespace(self.root, self.log_dir).__enter__()
            self.assert_loopback_only()
        # Offline: the namespace has no route out, and the cached root no package
        # lists. (apt-get's --no-download cannot install .deb files: apt "downloads"
        # them from their paths too, and refuses.)
        with phase("apt-get install the .debs offline"):
            self.admin("apt-get-install", ["apt-get", "install", "-y", "-o", "Dpkg::Use-Pty=0",
                                           *(f"{DEB_STAGING}/{deb.name}" for deb in self.debs)], timeout=APT_TIMEOUT)
        with phase("write snm.toml and snmctl apply"):
            self.write_config()
            self.admin("snmctl-apply-1", ["snmctl", "apply", "-c", CONFIG_PATH])
        with phase("start the services from their units"):
            for name in SERVICES:
                unit = ServiceUnit.load(self.namespace, name)
                with open(self.log_dir / f"{name}.log", "ab") as log:
                    log.write(f"--- unit files: {', '.join(unit.files)}\n"
                              f"--- sandboxing not applied: {' '.join(unit.sandboxing) or 'none'}\n".encode())
                self.services[name] = start_service(self.namespace, unit, self.log_dir)
        with phase("wait for the listeners"):
            self.wait_until_ready()

    def built_debs(self):
        given = os.environ.get("SNM_DEB_DIR")
        directory = Path(given) if given else self.work / "debs"
        if not given:
            with phase("contrib/build-deb"), open(self.log_dir / "build-deb.log", "ab") as log:
                result = subprocess.run([SOURCE_ROOT / "contrib" / "build-deb", directory], stdout=log,
                                        stderr=subprocess.STDOUT, timeout=DEB_BUILD_TIMEOUT)
            if result.returncode != 0:
                raise AssertionError(f"contrib/build-deb exited {result.returncode}\n"
                                     f"{tail(self.log_dir / 'build-deb.log')}")
        debs = sorted(deb for deb in directory.glob("*.deb") if "-dbgsym_" not in deb.name)
        if not debs:
            raise AssertionError(f"no .deb in {directory}")
        return debs

    def assert_loopback_only(self):
        links = self.in_network(["ip", "-o", "link", "show"]).stdout
        names = [line.split(":")[1].strip().split("@")[0] for line in links.splitlines()]
        assert names == ["lo"], f"the namespace has interfaces besides lo:\n{links}"
        assert "UP" in re.search(r"<([^>]*)>", links).group(1).split(","), f"lo is not up:\n{links}"
        for family in ("-4", "-6"):
            routes = self.in_network(["ip", family, "route", "show", "default"]).stdout
            assert not routes.strip(), f"the namespace has a default route ({family}):\n{routes}"

    def write_config(self):
        for user, password in self.passwords.items():
            self.hashes[user] = self.snmctl("passwd", input=password + "\n").stdout.strip()
        self.namespace.path(CONFIG_PATH).write_text(snm_toml(self.hashes))

    def change_password(self, user, password):
        """snm.toml with a new hash for `user`, every other line as it was."""
        self.passwords[user] = password
        self.hashes[user] = self.snmctl("passwd", input=password + "\n").stdout.strip()
        self.namespace.path(CONFIG_PATH).write_text(snm_toml(self.hashes))

    def wait_until_ready(self):
        """Until every milter Postfix names (main.cf, and master.cf's -o
        overrides) and the client's ports accept connections, every service
        still running; fails naming what is missing."""
        main = self.namespace.run(["postconf", "-h", "smtpd_milters", "non_smtpd_milters"]).stdout
        overrides = self.namespace.run(["postconf", "-P"]).stdout
        milters = main + "".join(line.split("=", 1)[1] + "\n" for line in overrides.splitlines()
                                 if line.split("=", 1)[0].strip().endswith("_milters"))
        tcp = set(CLIENT_PORTS) | {int(port) for port in re.findall(r"inet:[^\s,:}]+:(\d+)", milters)}
        unix = set(re.findall(r"unix:([^\s,}]+)", milters))
        deadline = time.monotonic() + READY_TIMEOUT
        while True:
            self.assert_services_running()
            missing_tcp = tcp - self.namespace.listening_tcp_ports()
            missing_unix = {path for path in unix if not any(bound.endswith(path) for bound in
                                                            self.namespace.listening_unix_paths())}
            if not missing_tcp and not missing_unix:
                return
            if time.monotonic() > deadline:
                raise AssertionError(f"after {READY_TIMEOUT}s nothing listens on TCP {sorted(missing_tcp)} "
                                     f"{sorted(missing_unix)} (Postfix's milters: {milters.split()})")
            time.sleep(0.2)

    def assert_services_running(self):
        for name, service in self.services.items():
            dead = [identity for identity in service.main_processes if not self.namespace.alive(identity)]
            assert not dead, f"{name} is no longer running (pids {dead})\n{tail(service.log)}"

    # --- using it ---------------------------------------------------------------------
    def admin(self, log_name, argv, **kwargs):
        """A command inside as root, its output kept in LOG_DIR/log_name.log; raises on failure."""
        log = self.log_dir / f"{log_name}.log"
        with open(log, "ab") as out:
            result = self.namespace.run(argv, stdout=out, stderr=subprocess.STDOUT, check=False, **kwargs)
        if result.returncode != 0:
            raise AssertionError(f"{' '.join(argv)} exited {result.returncode}\n{tail(log)}")
        return log.read_text(errors="replace")

    def snmctl(self, *args, check=True, **kwargs):
        return self.namespace.run(["snmctl", *args], check=check, **kwargs)

    def in_network(self, argv):
        return subprocess.run(self.namespace.in_network(argv), capture_output=True, text=True, check=True)

    def client(self, command, *args):
        """mail_client.py COMMAND ARGS on the server's loopback: its JSON answer."""
        result = subprocess.run(self.namespace.in_network([HOST_PYTHON, CLIENT, command, *args]),
                                capture_output=True, text=True, timeout=120)
        if result.returncode != 0:
            raise AssertionError(f"mail_client.py {command} failed:\n{result.stderr}")
        return json.loads(result.stdout)

    def main_processes(self):
        """{unit: [(pid, start time)]} of every started service."""
        return {name: list(service.main_processes) for name, service in self.services.items()}

    # --- diagnostics and the end ------------------------------------------------------------
    def diagnostics(self):
        parts = []
        if self.namespace and self.namespace.init_pid:
            parts.append("--- processes in the namespace (pid, host ppid, name, command)\n"
                         + self.namespace.process_table())
            parts.append(f"--- listening: TCP {sorted(self.namespace.listening_tcp_ports())} "
                         f"unix {sorted(self.namespace.listening_unix_paths())}")
        for log in sorted(self.log_dir.iterdir()):
            parts.append(tail(log, LOG_TAIL_LINES))
        var_log = self.root / "var" / "log"
        for log in sorted(p for p in var_log.rglob("*") if p.is_file() and p.stat().st_size):
            if log.relative_to(var_log).parts[0] not in UNRELATED_LOGS:
                parts.append(tail(log, LOG_TAIL_LINES).replace(f"--- {log.name}", f"--- /{log.relative_to(self.root)}", 1))
        return "\n".join(parts)

    def close(self):
        with phase("teardown"):
            if self.namespace:
                self.namespace.stop()
            for service in self.services.values():
                if service.launcher:
                    service.launcher.wait(timeout=30)
            mounted = [line for line in Path("/proc/mounts").read_text().splitlines() if str(self.work) in line]
            shutil.rmtree(self.work)
        assert not mounted, f"mounts of the install test survived on the host: {mounted}"
