"""A Debian root booted by systemd-nspawn with the root's own systemd as its
PID 1, in private mount, PID and network namespaces, for the install test:
its life and the ways into it.

    with Namespace(root, log_dir) as namespace:
        namespace.run(["apt-get", "install", …])            # inside, as root
        namespace.run(["systemctl", "start", …])            # real systemd starts the units
        namespace.path("/etc/snm/snm.toml").write_text(…)   # a file inside, from the host
        namespace.in_network(["python3", "client.py", …])   # a host program on its loopback

systemd-nspawn --boot runs the root's /lib/systemd/systemd as PID 1 with a
network of nothing but lo (--private-network), no registration with a
machined and no unit of the host's (--register=no --keep-unit: the host's
PID 1 need not be systemd), the journal kept inside (--link-journal=no)
and the console copied to LOG_DIR/nspawn.log. systemd boots BOOT_TARGET:
the mail servers' units are enabled but none starts before the test asks.
nspawn tells the test through NOTIFY_SOCKET when the container's systemd
has finished booting (--notify-ready=yes), and names its PID 1.

nspawn puts itself and the container into the cgroup it runs in. So that
a run touches no cgroup but its own, it is started in a fresh one named
after the machine (in each hierarchy systemd tracks processes in: cgroup2,
and name=systemd where the layout is hybrid or legacy), under the test's
own cgroup; `stop` removes it.

Commands inside go through nsenter (every namespace of PID 1 and its root):
they see the root, its /run and /tmp, and a network with only lo. `path`
reaches a file through /proc/PID1/root with the root's symbolic links
resolved inside the root (an absolute link must not lead to the host's
file). Leaving the block powers the container off (SIGTERM to nspawn, which
asks systemd for an orderly shutdown); one that does not end in
POWEROFF_TIMEOUT seconds is killed (SIGKILL to PID 1 takes every process of
the PID namespace with it) and the test fails. Either way `stop` waits
until no process of the PID namespace is left, then removes the cgroups;
the mounts go with the mount namespace.
"""
import os
import secrets
import select
import signal
import socket
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

NSPAWN = "systemd-nspawn"
HOST_PYTHON = "/usr/bin/python3"
ADMIN_ENVIRONMENT = {"PATH": "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "HOME": "/root",
                     "LANG": "C.UTF-8", "DEBIAN_FRONTEND": "noninteractive"}
# Boot as far as the basic system (journald, /dev/log, tmpfiles): the mail
# servers' units stay down until the test starts them after `snmctl apply`.
BOOT_TARGET = "basic.target"
# The machine's name (its hostname inside) and its cgroups' name: this
# prefix and random hex digits. contrib/run-tests looks for leftovers by it.
MACHINE_PREFIX = "snm-install-test-"
# Seconds for systemd to boot, for an orderly poweroff, and for the PID
# namespace to empty once nspawn is gone.
BOOT_TIMEOUT = 60
POWEROFF_TIMEOUT = 30
STOP_TIMEOUT = 30
# Longest sd_notify datagram nspawn sends.
NOTIFY_DATAGRAM_LIMIT = 4096
# Symbolic links followed in one path before it is taken for a loop.
SYMLINK_HOPS = 40
TCP_LISTEN = "0A"
UNIX_ACCEPTING = 0x10000  # __SO_ACCEPTCON in /proc/net/unix's Flags


@dataclass(frozen=True)
class ProcessInfo:
    pid: int        # as the host sees it
    ppid: int
    ns_pid: int     # as the namespace sees it
    start_time: int
    name: str
    args: str

    @property
    def identity(self):
        """(pid, start time): the same process, not a new one with a reused pid."""
        return self.pid, self.start_time


def process_info(pid):
    """ProcessInfo of a host pid, or None when it is gone."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
        status = Path(f"/proc/{pid}/status").read_text()
        args = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace").strip()
    except (FileNotFoundError, ProcessLookupError):
        return None
    name = stat[stat.index("(") + 1:stat.rindex(")")]
    fields = stat[stat.rindex(")") + 2:].split()
    ns_pid = next(int(line.split()[-1]) for line in status.splitlines() if line.startswith("NSpid:"))
    return ProcessInfo(pid, int(fields[1]), ns_pid, int(fields[19]), name, args)


def children_of(pid):
    """ProcessInfo of each child of a host pid."""
    try:
        listed = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    except FileNotFoundError:
        return []
    return [info for info in map(process_info, map(int, listed)) if info]


def confined(base, path):
    """`path` under `base` with every symbolic link resolved as if `base` were /."""
    pending = [part for part in path.split("/") if part not in ("", ".")]
    resolved, hops = [], 0
    while pending:
        part = pending.pop(0)
        if part == "..":
            resolved = resolved[:-1]
            continue
        candidate = Path(base, *resolved, part)
        if not candidate.is_symlink():
            resolved.append(part)
            continue
        hops += 1
        if hops > SYMLINK_HOPS:
            raise OSError(f"too many symbolic links in {path}")
        target = os.readlink(candidate)
        if target.startswith("/"):
            resolved = []
        pending = [p for p in target.split("/") if p not in ("", ".")] + pending
    return Path(base, *resolved)


def kill(pid):
    """SIGKILL to a host pid, if there is one and it is still there."""
    try:
        if pid:
            os.kill(pid, signal.SIGKILL)
    except ProcessLookupError:
        pass


def tracking_cgroups(name):
    """Paths for a new cgroup `name` under this process's own cgroup, in
    each hierarchy systemd tracks processes in (cgroup2; name=systemd)."""
    own = {}
    for line in Path("/proc/self/cgroup").read_text().splitlines():
        _, controllers, path = line.split(":", 2)
        own[controllers] = path
    paths = []
    for line in Path("/proc/self/mountinfo").read_text().splitlines():
        fields = line.split()
        separator = fields.index("-")
        mount_root, mount_point = fields[3], fields[4]
        fstype, options = fields[separator + 1], fields[separator + 3].split(",")
        key = "" if fstype == "cgroup2" else "name=systemd" if fstype == "cgroup" and "name=systemd" in options \
            else None
        if key is None or key not in own:
            continue
        relative = os.path.relpath(own[key], mount_root)
        paths.append(Path(mount_point, relative, name) if relative != "." else Path(mount_point, name))
    return paths


def remove_cgroup(path):
    """rmdir of a cgroup and every cgroup below it, the deepest first."""
    if not path.is_dir():
        return
    for directory, _, _ in sorted(os.walk(path), key=lambda entry: -entry[0].count("/")):
        os.rmdir(directory)


class Namespace:
    def __init__(self, root, log_dir):
        self.root = Path(root)
        self.log_dir = Path(log_dir)
        self.machine = MACHINE_PREFIX + secrets.token_hex(4)
        self.cgroups = tracking_cgroups(self.machine)
        self.launcher = None  # the host's systemd-nspawn
        self.init_pid = None  # PID 1 of the namespace (the root's systemd), as the host numbers it
        self.pid_namespace = None  # its /proc/PID/ns/pid link ("pid:[inode]")

    def __enter__(self):
        try:
            self.start()
        except BaseException:
            self.stop()
            raise
        return self

    def __exit__(self, *exc):
        self.stop()

    # --- life ----------------------------------------------------------------------
    def start(self):
        for cgroup in self.cgroups:
            cgroup.mkdir()
        notify_path = self.log_dir / "nspawn.notify"
        notify = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        try:
            notify.bind(str(notify_path))
            with open(self.log_dir / "nspawn.log", "ab") as log:
                self.launcher = subprocess.Popen(
                    [NSPAWN, "--quiet", "--boot", f"--directory={self.root}", f"--machine={self.machine}",
                     "--private-network", "--register=no", "--keep-unit", "--link-journal=no",
                     "--resolv-conf=off", "--timezone=off", "--console=read-only", "--notify-ready=yes",
                     "--setenv=SYSTEMD_COLORS=0", "--", f"systemd.unit={BOOT_TARGET}"],
                    stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                    env={"PATH": ADMIN_ENVIRONMENT["PATH"], "NOTIFY_SOCKET": str(notify_path)},
                    preexec_fn=self.join_cgroups, start_new_session=True)
            self.init_pid = self.wait_until_booted(notify)
        finally:
            notify.close()
            notify_path.unlink(missing_ok=True)
        self.pid_namespace = os.readlink(f"/proc/{self.init_pid}/ns/pid")
        state = self.run(["systemctl", "is-system-running"], check=False).stdout.strip()
        if state != "running":
            failed = self.run(["systemctl", "--failed", "--no-pager"], check=False).stdout
            raise AssertionError(f"systemd in the namespace booted {BOOT_TARGET} {state!r}, not 'running':\n{failed}")

    def join_cgroups(self):
        """In nspawn's child, before the exec: into the machine's cgroups."""
        for cgroup in self.cgroups:
            (cgroup / "cgroup.procs").write_text(f"{os.getpid()}\n")

    def wait_until_booted(self, notify):
        """The host pid of the container's PID 1, once nspawn says its systemd is ready."""
        deadline = time.monotonic() + BOOT_TIMEOUT
        leader, ready = None, False
        while not ready:
            readable, _, _ = select.select([notify], [], [], min(1.0, max(0.0, deadline - time.monotonic())))
            if readable:
                fields = dict(line.split("=", 1) for line in
                              notify.recv(NOTIFY_DATAGRAM_LIMIT).decode(errors="replace").splitlines() if "=" in line)
                leader = int(fields.get("X_NSPAWN_LEADER_PID", leader or 0)) or leader
                ready = ready or fields.get("READY") == "1"
            elif self.launcher.poll() is not None or time.monotonic() > deadline:
                why = (f"systemd-nspawn exited {self.launcher.returncode}" if self.launcher.returncode is not None
                       else f"systemd did not finish booting in {BOOT_TIMEOUT}s")
                raise AssertionError(f"{why}:\n{(self.log_dir / 'nspawn.log').read_text(errors='replace')}")
        if not leader:
            raise AssertionError("systemd-nspawn said READY=1 but named no PID 1 (X_NSPAWN_LEADER_PID)")
        return leader

    def stop(self):
        """Powers the container off (or kills its PID 1 when that does not
        end in time); waits until nothing of it is left; removes its cgroups."""
        if self.launcher is None:
            for cgroup in self.cgroups:
                remove_cgroup(cgroup)
            return
        if self.pid_namespace is None:
            leader = self.init_pid or next((child.pid for child in children_of(self.launcher.pid)), None)
            try:
                self.pid_namespace = os.readlink(f"/proc/{leader}/ns/pid") if leader else None
            except FileNotFoundError:
                pass
        forced = None
        if self.launcher.poll() is None:
            self.launcher.terminate()
            try:
                self.launcher.wait(timeout=POWEROFF_TIMEOUT)
            except subprocess.TimeoutExpired:
                # PID 1 killed, nspawn sees its container end and still cleans up
                # after it (its lock beside the root, its directory under /run).
                forced = self.process_table()
                leader = self.init_pid or next((child.pid for child in children_of(self.launcher.pid)), None)
                kill(leader)
                try:
                    self.launcher.wait(timeout=STOP_TIMEOUT)
                except subprocess.TimeoutExpired:
                    kill(self.launcher.pid)
                    self.launcher.wait(timeout=STOP_TIMEOUT)
        deadline = time.monotonic() + STOP_TIMEOUT
        while self.pid_namespace and self.processes() and time.monotonic() < deadline:
            time.sleep(0.1)
        survivors = self.processes() if self.pid_namespace else []
        self.launcher = None
        if not survivors:
            for cgroup in self.cgroups:
                remove_cgroup(cgroup)
        assert not survivors, f"processes of the namespace outlived nspawn: {survivors}"
        assert forced is None, (f"the container did not power off in {POWEROFF_TIMEOUT}s and was killed; "
                                f"what still ran:\n{forced}")

    # --- into it -----------------------------------------------------------------------
    def enter(self, argv):
        """`argv` run inside: every namespace and the root of PID 1, its working directory."""
        return ["nsenter", f"--target={self.init_pid}", "--all", "--root", "--wd", "--", *map(str, argv)]

    def run(self, argv, env=None, check=True, **kwargs):
        """subprocess.run inside, as root with ADMIN_ENVIRONMENT unless `env`; output
        captured as text unless stdout is given; raises with it on failure when `check`."""
        if "stdout" not in kwargs:
            kwargs.update(capture_output=True, text=True)
        result = subprocess.run(self.enter(argv), env=env or ADMIN_ENVIRONMENT, **kwargs)
        if check and result.returncode != 0:
            raise AssertionError(f"{' '.join(map(str, argv))} exited {result.returncode} in the namespace:\n"
                                 f"{result.stdout or ''}\n{result.stderr or ''}")
        return result

    def in_network(self, argv):
        """`argv` for a host program that joins only the network namespace."""
        return ["nsenter", f"--net=/proc/{self.init_pid}/ns/net", "--", *map(str, argv)]

    def path(self, path):
        """A path inside the running root (its /run and /tmp included), for the host to read or write."""
        return confined(f"/proc/{self.init_pid}/root", path)

    # --- what runs inside -----------------------------------------------------------------
    def processes(self):
        """ProcessInfo of every process of the PID namespace, PID 1 included."""
        found = []
        for entry in Path("/proc").iterdir():
            if not entry.name.isdigit():
                continue
            try:
                same = os.readlink(entry / "ns" / "pid") == self.pid_namespace
            except (FileNotFoundError, ProcessLookupError, PermissionError):
                continue
            info = process_info(int(entry.name)) if same else None
            if info:
                found.append(info)
        return found

    def process(self, ns_pid):
        """ProcessInfo of the process the namespace numbers `ns_pid`, or None."""
        return next((p for p in self.processes() if p.ns_pid == ns_pid), None)

    def in_cgroup(self, control_group):
        """ProcessInfo of the namespace's processes in a cgroup its systemd
        names (a unit's ControlGroup), as the host sees them: below the
        machine's cgroup."""
        def member(info):
            try:
                lines = Path(f"/proc/{info.pid}/cgroup").read_text().splitlines()
            except (FileNotFoundError, ProcessLookupError):
                return False
            return any(line.split(":", 2)[2].endswith(control_group) for line in lines
                       if line.split(":", 2)[1] in ("", "name=systemd"))
        return [info for info in self.processes() if member(info)]

    def listening_tcp_ports(self):
        """TCP ports something listens on in the namespace's network (IPv4 and IPv6)."""
        ports = set()
        for table in ("tcp", "tcp6"):
            path = Path(f"/proc/{self.init_pid}/net/{table}")
            for line in path.read_text().splitlines()[1:] if path.exists() else []:
                fields = line.split()
                if fields[3] == TCP_LISTEN:
                    ports.add(int(fields[1].rsplit(":", 1)[1], 16))
        return ports

    def listening_unix_paths(self):
        """Paths of the Unix stream sockets accepting connections in the
        namespace: in its network and in the private network of any service
        (PrivateNetwork=: a socket file is reachable from every network)."""
        networks = {}
        for info in self.processes():
            try:
                networks.setdefault(os.readlink(f"/proc/{info.pid}/ns/net"), info.pid)
            except (FileNotFoundError, ProcessLookupError):
                continue
        paths = set()
        for pid in networks.values():
            try:
                table = Path(f"/proc/{pid}/net/unix").read_text().splitlines()[1:]
            except (FileNotFoundError, ProcessLookupError):
                continue
            for line in table:
                fields = line.split()
                if len(fields) >= 8 and int(fields[3], 16) & UNIX_ACCEPTING:
                    paths.add(fields[7])
        return paths

    def process_table(self):
        """A ps-like listing of the namespace's processes, for diagnostics."""
        return "\n".join(f"{p.ns_pid:>6} {p.ppid:>8} {p.name:<16} {p.args}"
                         for p in sorted(self.processes(), key=lambda p: p.ns_pid))
