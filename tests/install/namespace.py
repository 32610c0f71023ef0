"""Private mount, PID and network namespaces around an unpacked Debian root,
for the install test: its PID 1 (ns_init.py) and the ways into it.

    with Namespace(root, log_dir) as namespace:
        namespace.run(["apt-get", "install", …])            # inside, as root
        namespace.spawn([...], env=…, stdout=log)           # a foreground service
        namespace.path("/etc/snm/snm.toml").write_text(…)   # a file inside, from the host
        namespace.in_network(["python3", "client.py", …])   # a host program on its loopback

Commands inside go through nsenter (mount, PID and network namespace, and
the root of PID 1): they see the root, its /run and /tmp, and a network
with nothing but lo. `path` reaches a file through /proc/PID1/root with the
root's symbolic links resolved inside the root (an absolute link must not
lead to the host's file). Leaving the block kills PID 1, which takes every
process of the PID namespace with it, and waits until none is left; the
mounts go with the mount namespace.
"""
import os
import select
import signal
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

NS_INIT = Path(__file__).with_name("ns_init.py")
HOST_PYTHON = "/usr/bin/python3"
ADMIN_ENVIRONMENT = {"PATH": "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "HOME": "/root",
                     "LANG": "C.UTF-8", "DEBIAN_FRONTEND": "noninteractive"}
# Seconds for PID 1 to prepare the root, and for the namespace to empty.
READY_TIMEOUT = 30
STOP_TIMEOUT = 30
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


class Namespace:
    def __init__(self, root, log_dir):
        self.root = Path(root)
        self.log_dir = Path(log_dir)
        self.syslog = self.log_dir / "syslog"
        self.launcher = None  # the host's unshare
        self.init_pid = None  # PID 1 of the namespace, as the host numbers it
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
        stderr = open(self.log_dir / "ns_init.log", "ab")
        self.launcher = subprocess.Popen(
            ["unshare", "--mount", "--pid", "--net", "--fork", "--kill-child", "--propagation", "private", "--",
             HOST_PYTHON, str(NS_INIT), str(self.root), str(self.syslog)],
            stdout=subprocess.PIPE, stderr=stderr, env={"PATH": ADMIN_ENVIRONMENT["PATH"]}, start_new_session=True)
        stderr.close()
        readable, _, _ = select.select([self.launcher.stdout], [], [], READY_TIMEOUT)
        line = self.launcher.stdout.readline().decode().strip() if readable else ""
        children = children_of(self.launcher.pid)
        if children:
            self.init_pid = children[0].pid
            self.pid_namespace = os.readlink(f"/proc/{self.init_pid}/ns/pid")
        if line != "ready" or not self.init_pid:
            raise AssertionError(f"the namespace's PID 1 did not get ready ({line!r}):\n"
                                 f"{(self.log_dir / 'ns_init.log').read_text(errors='replace')}")

    def stop(self):
        """Kills PID 1 (and with it the whole PID namespace); waits until nothing of it is left."""
        if self.launcher is None:
            return
        # Without a PID 1 yet, unshare goes: --kill-child takes its child along.
        try:
            os.kill(self.init_pid or self.launcher.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        self.launcher.wait(timeout=STOP_TIMEOUT)
        self.launcher.stdout.close()
        deadline = time.monotonic() + STOP_TIMEOUT
        while self.pid_namespace and self.processes() and time.monotonic() < deadline:
            time.sleep(0.1)
        survivors = self.processes() if self.pid_namespace else []
        self.launcher = None
        assert not survivors, f"processes of the namespace outlived its PID 1: {survivors}"

    # --- into it -----------------------------------------------------------------------
    def enter(self, argv):
        """`argv` run inside: the namespaces and root of PID 1, its working directory."""
        return ["nsenter", f"--target={self.init_pid}", "--mount", "--pid", "--net", "--root", "--wd", "--",
                *map(str, argv)]

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

    def spawn(self, argv, env, stdout, preexec_fn=None):
        """A process inside that keeps running (under the host's nsenter, which waits for it)."""
        return subprocess.Popen(self.enter(argv), env=env, stdout=stdout, stderr=subprocess.STDOUT,
                                stdin=subprocess.DEVNULL, preexec_fn=preexec_fn, start_new_session=True)

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

    def orphans(self):
        """Processes whose parent is PID 1: the daemons that forked into the background."""
        return children_of(self.init_pid)

    def alive(self, identity):
        info = process_info(identity[0])
        return info is not None and info.identity == identity

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
        """Paths of the Unix stream sockets accepting connections in the namespace."""
        paths = set()
        for line in Path(f"/proc/{self.init_pid}/net/unix").read_text().splitlines()[1:]:
            fields = line.split()
            if len(fields) >= 8 and int(fields[3], 16) & UNIX_ACCEPTING:
                paths.add(fields[7])
        return paths

    def process_table(self):
        """A ps-like listing of the namespace's processes, for diagnostics."""
        return "\n".join(f"{p.ns_pid:>6} {p.ppid:>8} {p.name:<16} {p.args}"
                         for p in sorted(self.processes(), key=lambda p: p.ns_pid))
