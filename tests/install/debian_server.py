"""A mail server made the way an administrator makes one on Debian 12, for
the install test: a fresh minimal root booted with its own systemd, snm's
.debs installed offline into it, /etc/snm/snm.toml written, `snmctl apply`,
and the services started with `systemctl start` — systemd runs each as its
installed unit says, sandboxing included — all inside private mount, PID
and network namespaces with loopback only (namespace.py).

    server = DebianServer()
    server.bring_up()                 # every phase timed (timing.py)
    server.client("submit", …)        # mail_client.py on the server's loopback
    server.snmctl("apply", "-c", CONFIG_PATH)
    server.diagnostics()              # logs and processes, for a failure
    server.close()                    # nothing of it is left on the host

The .debs are built with contrib/build-deb, or taken from SNM_DEB_DIR. The
root comes from debian_root.py's cache. Everything lives in one temporary
directory (prefix TMP_PREFIX: contrib/run-tests looks for leftovers by it):
the root, the .debs, and LOG_DIR with nspawn's output (the boot console),
the output of every administrative command and, for a failure, what
`diagnostics` gathers from systemd: each service's journal (its stdout and
stderr, and Postfix's and Dovecot's syslog), the whole journal of the boot
and `systemctl status`.
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
from timing import phase

SOURCE_ROOT = Path(__file__).resolve().parents[2]
TMP_PREFIX = "snm-install-test-"
CONFIG_PATH = "/etc/snm/snm.toml"
DEB_STAGING = "/var/cache/snm-install-test"  # inside the root
CLIENT = Path(__file__).with_name("mail_client.py")
# The units an administrator starts after the first `snmctl apply`, in one
# `systemctl start`: systemd orders them by their After= and Before=.
STARTED_UNITS = ("redis-server.service", "rspamd.service", "snm-policyd.service", "snm-dkim-milter.service",
                 "dovecot.service", "postfix.service")
# The units whose main process is one of the mail server's daemons
# (postfix.service is a oneshot; its instance postfix@- runs Postfix's master).
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
SYSTEMCTL_TIMEOUT = 180
LOG_TAIL_LINES = 40
# Files under the root's /var/log that say nothing about the mail servers,
# or that `diagnostics` reads otherwise (the binary journal, with journalctl).
UNRELATED_LOGS = ("apt", "dpkg.log", "alternatives.log", "bootstrap.log", "faillog", "lastlog", "wtmp", "btmp",
                  "journal", "README")


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
        self.services = {}  # unit in SERVICES -> (host pid, start time) of its main process, once started
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
        with phase("boot systemd in the namespaces (systemd-nspawn)"):
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
        with phase("systemctl start the services"):
            self.admin("systemctl-start", ["systemctl", "start", *STARTED_UNITS], timeout=SYSTEMCTL_TIMEOUT)
            for name, state in self.unit_states().items():
                process = self.main_process(state)
                if state["ActiveState"] != "active" or process is None:
                    raise AssertionError(f"{name} is {state['ActiveState']} with no main process after "
                                         f"systemctl start ({state})\n{self.journal(name)}")
                self.services[name] = process.identity
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

    def unit_states(self):
        """{unit: {property: value}} of SERVICES, as systemd has them."""
        properties = "Id,ActiveState,SubState,MainPID,NRestarts,ControlGroup"
        output = self.namespace.run(["systemctl", "show", f"--property={properties}", *SERVICES]).stdout
        states = [dict(line.split("=", 1) for line in block.splitlines()) for block in output.split("\n\n")]
        return {state["Id"]: state for state in states if state}

    def assert_services_running(self):
        """Every service active with the main process it started with: not
        failed, and not restarted by systemd (Restart=) behind the test's back."""
        for name, state in self.unit_states().items():
            started = self.services[name]
            moved = self.main_process(state)
            assert state["ActiveState"] == "active" and moved and moved.identity == started, \
                (f"{name} is no longer running as it was started (pid {started[0]}): ActiveState="
                 f"{state['ActiveState']} SubState={state['SubState']} NRestarts={state['NRestarts']}\n"
                 f"{self.journal(name)}")

    def main_process(self, state):
        """ProcessInfo of a unit's daemon: its MainPID, or (a forking service
        systemd knows no main pid of, as Postfix's master with GuessMainPID=no)
        the one process of its cgroup that is a child of systemd; else None."""
        if int(state["MainPID"]):
            return self.namespace.process(int(state["MainPID"]))
        if not state["ControlGroup"]:
            return None
        daemons = [p for p in self.namespace.in_cgroup(state["ControlGroup"]) if p.ppid == self.namespace.init_pid]
        return daemons[0] if len(daemons) == 1 else None

    def journal(self, unit, lines=LOG_TAIL_LINES):
        """The last lines of a unit's journal inside."""
        result = self.namespace.run(["journalctl", "--no-pager", "--quiet", "-o", "short-precise", "-n", str(lines),
                                     "-u", unit], check=False)
        return f"--- journalctl -u {unit} (last {lines} lines)\n{result.stdout}{result.stderr}"

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
        """{unit: (host pid, start time)} of each started service's main process."""
        return dict(self.services)

    # --- diagnostics and the end ------------------------------------------------------------
    def diagnostics(self):
        """What went on: the processes and listeners, and the tail of every
        log, systemd's gathered first into LOG_DIR (each service's journal,
        the boot's whole journal, `systemctl status`)."""
        parts = []
        if self.namespace and self.namespace.init_pid and self.namespace.launcher:
            self.save_journals()
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

    def save_journals(self):
        commands = {f"journal-{unit}": ["journalctl", "--no-pager", "-o", "short-precise", "-u", unit]
                    for unit in STARTED_UNITS + SERVICES}
        commands["journal"] = ["journalctl", "--no-pager", "-o", "short-precise", "-b"]
        commands["systemctl-status"] = ["systemctl", "status", "--no-pager", "--full", "--lines=0",
                                        *STARTED_UNITS, *SERVICES]
        commands["systemctl-failed"] = ["systemctl", "list-units", "--failed", "--no-pager", "--full"]
        for name, argv in commands.items():
            with open(self.log_dir / f"{name}.log", "wb") as out:
                self.namespace.run(argv, stdout=out, stderr=subprocess.STDOUT, check=False)

    def close(self):
        """Powers the server off and removes its directory, also when the
        poweroff fails (then raising why, once the rest is done)."""
        with phase("teardown"):
            try:
                if self.namespace:
                    self.namespace.stop()
            finally:
                mounted = [line for line in Path("/proc/mounts").read_text().splitlines() if str(self.work) in line]
                if not mounted:
                    shutil.rmtree(self.work)
        assert not mounted, f"mounts of the install test survived on the host: {mounted}"


def tail(path, lines=40):
    path = Path(path)
    if not path.exists():
        return f"({path.name}: empty)"
    return f"--- {path.name} (last {lines} lines)\n" + "\n".join(
        path.read_text(errors="replace").splitlines()[-lines:])
