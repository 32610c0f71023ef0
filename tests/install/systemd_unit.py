"""Reads an installed systemd service unit and starts the service the way
systemd would, in the install test's namespace (no systemd runs there).

    unit = ServiceUnit.load(namespace, "postfix@-.service")
    service = start_service(namespace, unit, log_dir)

The unit is the one the packages installed: the first of /etc/systemd/system,
/run/systemd/system, /usr/lib/systemd/system, /lib/systemd/system that has
`name` (or, for an instance `a@b.service`, its template `a@.service`), then
its drop-ins (`name.d/*.conf`, the template's first), in systemd's order; an
empty assignment resets what came before, as in systemd.

What is applied, as systemd.exec(5) and systemd.service(5) define it:
Type (simple, exec, notify, notify-reload, idle: the started process is the
service; forking: ExecStart must exit 0 and the daemon it left behind is the
service — PIDFile= if set, else the new orphans; oneshot), ExecStartPre,
ExecStart, ExecStartPost with the `-` (failure ignored) and `+` (as root)
prefixes, specifiers %i %I %n %N %p %P %%, $VAR and ${VAR} from the
environment, User, Group, SupplementaryGroups and the user's own groups,
RuntimeDirectory (+Mode; owned by User and Group, $RUNTIME_DIRECTORY set),
Environment, EnvironmentFile (`-` prefix), UMask, LimitNOFILE,
NoNewPrivileges, CapabilityBoundingSet, AmbientCapabilities (through
util-linux's setpriv, as the unit's user). Each process's stdout and stderr
go to LOG_DIR/<unit>.log, as the journal would get them.

What is not: the file-system and system-call sandboxing (ProtectSystem,
PrivateTmp, SystemCallFilter, RestrictAddressFamilies, …: SANDBOXING); the
private namespaces stand in for it, and `systemd-analyze security` rates it.
Directives that only matter for stopping, reloading or restarting are
skipped (NOT_FOR_STARTING). Any other directive in [Service] is an error
naming it: the test must learn it before it can say it started the service
as its unit says. Type=notify services are not waited for (no notify
socket): the test waits for their listeners instead.
"""
import os
import re
import resource
import shlex
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

from namespace import children_of

UNIT_DIRECTORIES = ("/etc/systemd/system", "/run/systemd/system", "/usr/lib/systemd/system", "/lib/systemd/system")
# systemd 252's PATH for system services.
SERVICE_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
FOREGROUND_TYPES = ("simple", "exec", "notify", "notify-reload", "idle")
STARTED_DIRECTIVES = {
    "Type", "ExecStartPre", "ExecStart", "ExecStartPost", "PIDFile", "User", "Group", "SupplementaryGroups",
    "RuntimeDirectory", "RuntimeDirectoryMode", "Environment", "EnvironmentFile", "UMask", "LimitNOFILE",
    "NoNewPrivileges", "CapabilityBoundingSet", "AmbientCapabilities",
}
NOT_FOR_STARTING = {
    "ExecReload", "ExecStop", "ExecStopPost", "Restart", "RestartSec", "RestartPreventExitStatus",
    "SuccessExitStatus", "TimeoutSec", "TimeoutStartSec", "TimeoutStopSec", "GuessMainPID", "KillMode",
    "KillSignal", "SendSIGKILL", "RemainAfterExit", "RuntimeDirectoryPreserve", "NonBlocking",
    "StandardOutput", "StandardError", "SyslogIdentifier", "WatchdogSec", "StartLimitBurst",
    "StartLimitIntervalSec",
}
SANDBOXING = {
    "PrivateTmp", "PrivateDevices", "PrivateNetwork", "PrivateIPC", "PrivateMounts", "PrivateUsers",
    "ProtectSystem", "ProtectHome", "ProtectClock", "ProtectControlGroups", "ProtectHostname",
    "ProtectKernelLogs", "ProtectKernelModules", "ProtectKernelTunables", "ProtectProc", "ProcSubset",
    "ReadWritePaths", "ReadOnlyPaths", "InaccessiblePaths", "ReadWriteDirectories", "ReadOnlyDirectories",
    "InaccessibleDirectories", "NoExecPaths", "ExecPaths", "TemporaryFileSystem", "BindPaths",
    "BindReadOnlyPaths", "RemoveIPC", "RestrictAddressFamilies", "RestrictNamespaces", "RestrictRealtime",
    "RestrictSUIDSGID", "RestrictFileSystems", "SystemCallArchitectures", "SystemCallFilter",
    "SystemCallErrorNumber", "LockPersonality", "MemoryDenyWriteExecute", "DevicePolicy", "DeviceAllow",
    "IPAddressAllow", "IPAddressDeny", "KeyringMode",
}
# Seconds a forking or oneshot command, or an ExecStartPre, may take.
COMMAND_TIMEOUT = 120
# Seconds for a foreground service's process to appear under nsenter.
SPAWN_TIMEOUT = 10


def unescape_unit_name(text):
    """systemd-escape --unescape: "-" is "/", "\\xNN" a byte."""
    return re.sub(r"\\x([0-9a-fA-F]{2})", lambda m: chr(int(m.group(1), 16)), text.replace("-", "/"))


def read_assignments(text):
    """[(key, value)] of the [Service] section, continuation lines joined."""
    assignments, section, pending = [], None, ""
    for raw in text.splitlines():
        line = pending + raw.strip()
        pending = ""
        if line.endswith("\\"):
            pending = line[:-1] + " "
            continue
        if not line or line.startswith(("#", ";")):
            continue
        if line.startswith("["):
            section = line.strip("[]")
        elif section == "Service" and "=" in line:
            key, value = line.split("=", 1)
            assignments.append((key.strip(), value.strip()))
    return assignments


@dataclass
class ExecCommand:
    argv: list
    ignore_failure: bool  # "-"
    as_root: bool         # "+"

    def line(self):
        return shlex.join(self.argv)


@dataclass
class Credentials:
    uid: int
    gid: int
    groups: list  # supplementary gids

    def setpriv(self):
        groups = f"--groups={','.join(map(str, self.groups))}" if self.groups else "--clear-groups"
        return ["setpriv", f"--reuid={self.uid}", f"--regid={self.gid}", groups]


@dataclass
class ServiceUnit:
    name: str
    files: list                       # paths inside the root, in the order read
    settings: dict = field(default_factory=dict)  # directive -> [values]

    # --- reading ---------------------------------------------------------------
    @classmethod
    def load(cls, namespace, name):
        prefix, _, rest = name.partition("@")
        template = f"{prefix}@.service" if rest and not rest.startswith(".") else None
        main = None
        for candidate in (name, template):
            if candidate is None:
                continue
            main = next((f"{d}/{candidate}" for d in UNIT_DIRECTORIES if namespace.path(f"{d}/{candidate}").is_file()),
                        None)
            if main:
                break
        if main is None:
            raise AssertionError(f"no unit file {name} in {', '.join(UNIT_DIRECTORIES)} of the root")
        drop_ins = {}
        for unit_name in filter(None, (template, name)):
            for directory in reversed(UNIT_DIRECTORIES):
                folder = namespace.path(f"{directory}/{unit_name}.d")
                if folder.is_dir():
                    for conf in sorted(folder.glob("*.conf")):
                        drop_ins[conf.name] = f"{directory}/{unit_name}.d/{conf.name}"
        unit = cls(name, [main] + [drop_ins[key] for key in sorted(drop_ins)])
        for path in unit.files:
            for key, value in read_assignments(namespace.path(path).read_text()):
                unit.assign(key, value)
        unknown = set(unit.settings) - STARTED_DIRECTIVES - NOT_FOR_STARTING - SANDBOXING
        if unknown:
            raise AssertionError(f"{name} ({', '.join(unit.files)}) uses {', '.join(sorted(unknown))}, which the "
                                 f"install test cannot apply yet (tests/install/systemd_unit.py)")
        return unit

    def assign(self, key, value):
        if value == "":
            self.settings[key] = []
        else:
            self.settings.setdefault(key, []).append(self.specifiers(value))

    def specifiers(self, value):
        stem = self.name.rsplit(".", 1)[0]
        prefix, _, instance = stem.partition("@")
        table = {"i": instance, "I": unescape_unit_name(instance), "n": self.name, "N": stem, "p": prefix,
                 "P": unescape_unit_name(prefix), "%": "%"}

        def replace(match):
            if match.group(1) not in table:
                raise AssertionError(f"{self.name}: specifier %{match.group(1)} is not known to the install test")
            return table[match.group(1)]
        return re.sub(r"%(.)", replace, value)

    def last(self, key, default=None):
        values = self.settings.get(key)
        return values[-1] if values else default

    def words(self, key):
        return [word for value in self.settings.get(key, []) for word in value.split()]

    def flag(self, key):
        return self.last(key, "no").lower() in ("yes", "true", "on", "1")

    @property
    def type(self):
        return self.last("Type", "simple")

    @property
    def sandboxing(self):
        """The sandboxing directives the unit sets, which the test does not apply."""
        return sorted(set(self.settings) & SANDBOXING)

    # --- what a start needs ----------------------------------------------------------
    def credentials(self, namespace):
        passwd = {e[0]: e for e in (line.split(":") for line in namespace.path("/etc/passwd").read_text().splitlines())}
        groups = [line.split(":") for line in namespace.path("/etc/group").read_text().splitlines()]
        gid_of = {g[0]: int(g[2]) for g in groups}

        def group_id(name):
            return int(name) if name.isdigit() else gid_of[name]
        user = self.last("User")
        if user is None:
            uid, gid, supplementary = 0, 0, []
        else:
            entry = passwd[user] if not user.isdigit() else next(e for e in passwd.values() if e[2] == user)
            uid, gid = int(entry[2]), int(entry[3])
            supplementary = [int(g[2]) for g in groups if entry[0] in g[3].split(",")]
        if self.last("Group"):
            gid = group_id(self.last("Group"))
        supplementary += [group_id(name) for name in self.words("SupplementaryGroups")]
        return Credentials(uid, gid, sorted(set(supplementary) - {gid}))

    def environment(self, namespace, credentials):
        env = {"PATH": SERVICE_PATH}
        if self.last("User") is not None:
            entry = next(line.split(":") for line in namespace.path("/etc/passwd").read_text().splitlines()
                         if int(line.split(":")[2]) == credentials.uid)
            env.update(HOME=entry[5], LOGNAME=entry[0], USER=entry[0], SHELL=entry[6])
        if self.runtime_directories():
            env["RUNTIME_DIRECTORY"] = ":".join(f"/run/{d}" for d in self.runtime_directories())
        for value in self.settings.get("Environment", []):
            for assignment in shlex.split(value):
                key, _, setting = assignment.partition("=")
                env[key] = setting
        for value in self.settings.get("EnvironmentFile", []):
            optional, path = value.startswith("-"), value.lstrip("-")
            file = namespace.path(path)
            if not file.is_file():
                if optional:
                    continue
                raise AssertionError(f"{self.name}: EnvironmentFile {path} is missing")
            for line in file.read_text().splitlines():
                line = line.strip()
                if line and not line.startswith(("#", ";")) and "=" in line:
                    key, _, setting = line.partition("=")
                    env[key.strip()] = " ".join(shlex.split(setting))
        return env

    def runtime_directories(self):
        return self.words("RuntimeDirectory")

    def commands(self, key, env):
        """The ExecX= lines as ExecCommands, $VAR and ${VAR} expanded from env."""
        out = []
        for value in self.settings.get(key, []):
            prefixes = re.match(r"^[-+@:!|]*", value).group(0)
            if set(prefixes) - {"-", "+"}:
                raise AssertionError(f"{self.name}: {key} prefix {prefixes!r} is not known to the install test")
            argv = []
            for word in shlex.split(value[len(prefixes):]):
                whole = re.fullmatch(r"\$(\w+)", word)
                if whole:
                    argv += env.get(whole.group(1), "").split()
                else:
                    argv.append(re.sub(r"\$\{(\w+)\}", lambda m: env.get(m.group(1), ""), word))
            out.append(ExecCommand(argv, "-" in prefixes, "+" in prefixes))
        return out

    def privileges(self):
        """setpriv options for NoNewPrivileges, CapabilityBoundingSet, AmbientCapabilities."""
        options = []
        if self.flag("NoNewPrivileges"):
            options.append("--no-new-privs")
        if "CapabilityBoundingSet" in self.settings:
            options.append("--bounding-set=" + ",".join(["-all"] + [f"+{cap_name(c)}" for c in
                                                                    self.words("CapabilityBoundingSet")]))
        ambient = [f"+{cap_name(c)}" for c in self.words("AmbientCapabilities")]
        if ambient:
            options += ["--inh-caps=" + ",".join(ambient), "--ambient-caps=" + ",".join(ambient)]
        return options

    def resource_setup(self, log):
        """A preexec function for UMask and LimitNOFILE (inherited through
        nsenter and setpriv). A limit above the test's own hard limit (a
        container may forbid raising it) is lowered to it, with a note in `log`."""
        umask = int(self.last("UMask", "0022"), 8)
        limit = self.last("LimitNOFILE")
        nofile = None
        if limit:
            soft, _, hard = limit.partition(":")
            _, allowed = resource.getrlimit(resource.RLIMIT_NOFILE)
            wanted = [allowed if v == "infinity" else int(v) for v in (soft, hard or soft)]
            nofile = tuple(min(v, allowed) for v in wanted)
            if nofile != tuple(wanted):
                log.write(f"--- LimitNOFILE={limit} lowered to {nofile[0]}:{nofile[1]}, the hard limit here\n".encode())
                log.flush()

        def setup():
            os.umask(umask)
            if nofile:
                resource.setrlimit(resource.RLIMIT_NOFILE, nofile)
        return setup


def cap_name(capability):
    """CAP_NET_BIND_SERVICE → net_bind_service, as setpriv names it."""
    if capability.startswith("~"):
        raise AssertionError(f"inverted CapabilityBoundingSet ({capability}) is not known to the install test")
    return capability.lower().removeprefix("cap_")


@dataclass
class RunningService:
    """A started service: its main processes, as (host pid, start time)."""
    unit: ServiceUnit
    main_processes: list
    log: Path
    launcher: subprocess.Popen = None  # the nsenter a foreground service runs under


def start_service(namespace, unit, log_dir):
    """Starts `unit` as systemd would (see the module comment); returns the RunningService."""
    log = Path(log_dir) / f"{unit.name}.log"
    credentials = unit.credentials(namespace)
    env = unit.environment(namespace, credentials)
    mode = int(unit.last("RuntimeDirectoryMode", "0755"), 8)
    for directory in unit.runtime_directories():
        path = namespace.path(f"/run/{directory}")
        path.mkdir(parents=True, exist_ok=True)
        os.chown(path, credentials.uid, credentials.gid)
        os.chmod(path, mode)
    root = Credentials(0, 0, [])
    privileges = unit.privileges()

    def argv(command):
        who = root if command.as_root else credentials
        return who.setpriv() + ([] if command.as_root else privileges) + ["--"] + command.argv

    def run_to_end(key, command):
        with open(log, "ab") as out:
            out.write(f"--- {key}: {command.line()}\n".encode())
            out.flush()
            result = namespace.run(argv(command), env=env, stdout=out, stderr=subprocess.STDOUT, check=False,
                                   preexec_fn=unit.resource_setup(out), timeout=COMMAND_TIMEOUT)
        if result.returncode != 0 and not command.ignore_failure:
            raise AssertionError(f"{unit.name}: {key} {command.line()} exited {result.returncode}\n"
                                 f"{tail(log)}")

    for command in unit.commands("ExecStartPre", env):
        run_to_end("ExecStartPre", command)
    starts = unit.commands("ExecStart", env)
    if len(starts) != 1 and unit.type != "oneshot":
        raise AssertionError(f"{unit.name}: Type={unit.type} needs exactly one ExecStart, has {len(starts)}")
    service = RunningService(unit, [], log)
    if unit.type in FOREGROUND_TYPES:
        with open(log, "ab") as out:
            out.write(f"--- ExecStart: {starts[0].line()}\n".encode())
            out.flush()
            service.launcher = namespace.spawn(argv(starts[0]), env=env, stdout=out,
                                               preexec_fn=unit.resource_setup(out))
        service.main_processes = [wait_for_spawned(namespace, service.launcher, unit, log)]
    elif unit.type == "forking":
        before = {p.identity for p in namespace.orphans()}
        run_to_end("ExecStart", starts[0])
        pid_file = unit.last("PIDFile")
        if pid_file:
            ns_pid = int(namespace.path(pid_file).read_text().split()[0])
            service.main_processes = [p.identity for p in namespace.processes() if p.ns_pid == ns_pid]
        else:
            service.main_processes = [p.identity for p in namespace.orphans() if p.identity not in before]
        if not service.main_processes:
            raise AssertionError(f"{unit.name}: ExecStart exited 0 but left no daemon running\n{tail(log)}")
    elif unit.type == "oneshot":
        for command in starts:
            run_to_end("ExecStart", command)
    else:
        raise AssertionError(f"{unit.name}: Type={unit.type} is not known to the install test")
    for command in unit.commands("ExecStartPost", env):
        run_to_end("ExecStartPost", command)
    return service


def wait_for_spawned(namespace, launcher, unit, log):
    """The identity of the process nsenter started for a foreground service."""
    deadline = time.monotonic() + SPAWN_TIMEOUT
    while time.monotonic() < deadline:
        children = children_of(launcher.pid)
        if children:
            return children[0].identity
        if launcher.poll() is not None:
            raise AssertionError(f"{unit.name}: ExecStart exited {launcher.returncode} at once\n{tail(log)}")
        time.sleep(0.05)
    raise AssertionError(f"{unit.name}: no process under nsenter after {SPAWN_TIMEOUT}s\n{tail(log)}")


def tail(path, lines=40):
    path = Path(path)
    if not path.exists():
        return f"({path.name}: empty)"
    return f"--- {path.name} (last {lines} lines)\n" + "\n".join(
        path.read_text(errors="replace").splitlines()[-lines:])
