"""Private redis-server and rspamd instances for snm's integration tests.

How to run a stock Debian rspamd 3.4 quickly, offline, without touching the
system's /etc/rspamd or /var/lib/rspamd (the sandbox renders the same way):

* Our own top-level ``rspamd.conf`` includes the stock ``$CONFDIR/common.conf``
  (``--var=CONFDIR=/etc/rspamd``) and points ``LOCAL_CONFDIR``, ``RUNDIR``,
  ``DBDIR`` and ``LOGDIR`` at a private directory, so ``local.d``/``override.d``
  are ours. Only the controller worker runs: it learns and serves ``/stat``.
* Offline: DNS goes to a dead loopback port with a short timeout, and
  ``fuzzy_check`` is disabled (it would resolve rspamd.com).
* Bayes keeps its tokens and its learn cache in Redis (the stock
  ``statistic.conf`` uses ``backend = "redis"``): a private ``redis-server`` on a
  free loopback port, no persistence.
* A cold start compiles hyperscan patterns for ~10 s (more on a busy
  machine). ``hs_cache_dir`` points at a cache kept between runs
  (``$SNM_TEST_CACHE`` or ``/var/tmp/snm-test-cache``), so later starts take
  about a second. The cache is keyed by the patterns, so instances with
  different configs can share it.
* As root rspamd must drop to ``_rspamd``; every directory it writes is made
  owned by that user.

Everything binds 127.0.0.1 or a unix socket inside the instance directory and
is stopped by pid (``Process.stop``).
"""
import json
import os
import pwd
import socket
from dataclasses import dataclass
from pathlib import Path

import snmtest

RSPAMD = "/usr/bin/rspamd"
REDIS_SERVER = "/usr/bin/redis-server"
RSPAMD_USER = "_rspamd"
# The stock configuration rspamd.conf builds on.
RSPAMD_CONFDIR = "/etc/rspamd"
# Cold starts compile hyperscan patterns; allow for a loaded machine.
RSPAMD_START_TIMEOUT = 180.0
REDIS_START_TIMEOUT = 15.0
# Bound on a controller reply read by the tests.
CONTROLLER_REPLY_LIMIT = 1 << 20


def test_cache_dir(name):
    """A directory kept between test runs (``$SNM_TEST_CACHE/name``)."""
    root = Path(os.environ.get("SNM_TEST_CACHE", "/var/tmp/snm-test-cache"))
    path = root / name
    path.mkdir(parents=True, exist_ok=True)
    return path


def _chown_to(path, user):
    if os.geteuid() == 0:
        entry = pwd.getpwnam(user)
        os.chown(path, entry.pw_uid, entry.pw_gid)


@dataclass
class Redis:
    """A private redis-server on 127.0.0.1:port without persistence."""
    port: int
    process: snmtest.Process

    def stop(self):
        self.process.stop()


def start_redis(directory):
    """Starts redis-server in ``directory`` on a free loopback port."""
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    port = snmtest.free_port()
    config = directory / "redis.conf"
    config.write_text(
        f"bind 127.0.0.1\nport {port}\nprotected-mode yes\ndaemonize no\n"
        f"dir {directory}\nsave \"\"\nappendonly no\nlogfile \"\"\n")
    process = snmtest.Process([REDIS_SERVER, config], log_path=directory / "redis.log")
    snmtest.wait_for_port(port, timeout=REDIS_START_TIMEOUT)
    return Redis(port=port, process=process)


@dataclass
class Rspamd:
    """A private rspamd whose controller listens on a unix socket (and on
    127.0.0.1:controller_port, where the password is required)."""
    directory: Path
    controller_socket: Path
    controller_port: int
    password: str
    process: snmtest.Process = None

    def stop(self):
        if self.process is not None:
            self.process.stop()

    def log(self):
        path = self.directory / "log" / "rspamd.log"
        return path.read_text(errors="replace") if path.exists() else ""

    def controller(self, method, path, body=b"", headers=None):
        """One HTTP exchange with the controller over its unix socket:
        returns (status, parsed JSON body or raw bytes)."""
        return controller_request(self.controller_socket, method, path, body, headers)

    def stat(self):
        status, body = self.controller("GET", "/stat")
        assert status == 200, f"/stat answered {status}: {body!r}"
        return body

    def learned(self, symbol):
        """How many messages Bayes has learned into the statfile ``symbol``
        (``BAYES_SPAM`` or ``BAYES_HAM``): its revision in ``/stat``."""
        for statfile in self.stat().get("statfiles", []):
            if statfile.get("symbol") == symbol:
                return statfile.get("revision", 0)
        return 0

    def learned_spam(self):
        return self.learned("BAYES_SPAM")

    def learned_ham(self):
        return self.learned("BAYES_HAM")


def controller_request(socket_path, method, path, body=b"", headers=None):
    """A minimal HTTP/1.0 client over a unix socket (the stdlib has none)."""
    lines = [f"{method} {path} HTTP/1.0", f"Content-Length: {len(body)}"]
    lines += [f"{k}: {v}" for k, v in (headers or {}).items()]
    request = ("\r\n".join(lines) + "\r\n\r\n").encode() + body
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
        s.settimeout(30)
        s.connect(str(socket_path))
        s.sendall(request)
        reply = b""
        while len(reply) < CONTROLLER_REPLY_LIMIT:
            chunk = s.recv(65536)
            if not chunk:
                break
            reply += chunk
    head, _, payload = reply.partition(b"\r\n\r\n")
    status = int(head.split(b" ", 2)[1])
    try:
        return status, json.loads(payload)
    except ValueError:
        return status, payload


def write_rspamd_config(directory, redis_port, password, controller_port, local_files=None):
    """Writes rspamd.conf and local.d/override.d into ``directory``; returns
    the Rspamd description (not started). ``local_files`` maps extra
    ``local.d`` file names to their contents."""
    directory = Path(directory)
    for sub in ("local.d", "override.d", "run", "db", "log"):
        (directory / sub).mkdir(parents=True, exist_ok=True)
    for sub in ("run", "db", "log"):
        _chown_to(directory / sub, RSPAMD_USER)
    hs_cache = test_cache_dir("rspamd-hyperscan")
    _chown_to(hs_cache, RSPAMD_USER)
    dead_dns_port = snmtest.free_port()
    controller_socket = directory / "run" / "controller.sock"

    (directory / "rspamd.conf").write_text(f"""\
# Private rspamd for snm tests: stock common.conf, our local.d/override.d.
.include "$CONFDIR/common.conf"

options {{
    pidfile = "$RUNDIR/rspamd.pid";
    .include "$CONFDIR/options.inc"
    .include(try=true; priority=1,duplicate=merge) "$LOCAL_CONFDIR/local.d/options.inc"
    .include(try=true; priority=10) "$LOCAL_CONFDIR/override.d/options.inc"
}}

logging {{
    type = "file";
    filename = "$LOGDIR/rspamd.log";
    level = "info";
}}

worker "controller" {{
    bind_socket = "{controller_socket} mode=0666";
    bind_socket = "127.0.0.1:{controller_port}";
    .include "$CONFDIR/worker-controller.inc"
    .include(try=true; priority=10) "$LOCAL_CONFDIR/override.d/worker-controller.inc"
}}
""")
    local = directory / "local.d"
    (local / "options.inc").write_text(f"""\
dns {{
    nameserver = ["127.0.0.1:{dead_dns_port}"];
    timeout = 0.1s;
    retransmits = 1;
}}
hs_cache_dir = "{hs_cache}";
""")
    (local / "redis.conf").write_text(f'servers = "127.0.0.1:{redis_port}";\n')
    (local / "fuzzy_check.conf").write_text("enabled = false;\n")
    for name, text in (local_files or {}).items():
        (local / name).write_text(text)
    # The password is required on 127.0.0.1 too: no address is "secure"
    # (192.0.2.1 is TEST-NET-1, never a peer here). The unix socket is
    # trusted by rspamd itself.
    (directory / "override.d" / "worker-controller.inc").write_text(f"""\
count = 1;
password = "{password}";
enable_password = "{password}";
secure_ip = "192.0.2.1";
""")
    return Rspamd(directory=directory, controller_socket=controller_socket,
                  controller_port=controller_port, password=password)


def start_rspamd(directory, redis_port, password="snm-test-password", local_files=None):
    """Writes the configuration and starts rspamd in the foreground; returns
    once the controller answers ``/stat``."""
    rspamd = write_rspamd_config(directory, redis_port, password, snmtest.free_port(), local_files)
    d = rspamd.directory
    argv = [RSPAMD, "-f", "-c", d / "rspamd.conf",
            f"--var=CONFDIR={RSPAMD_CONFDIR}", f"--var=LOCAL_CONFDIR={d}",
            f"--var=RUNDIR={d / 'run'}", f"--var=DBDIR={d / 'db'}", f"--var=LOGDIR={d / 'log'}"]
    if os.geteuid() == 0:
        argv += ["-u", RSPAMD_USER, "-g", RSPAMD_USER]
    rspamd.process = snmtest.Process(argv, log_path=d / "rspamd.stdout")

    def controller_up():
        if not rspamd.process.running():
            raise AssertionError(f"rspamd exited:\n{rspamd.process.log()}\n{rspamd.log()[-4000:]}")
        try:
            return rspamd.controller("GET", "/stat")[0] == 200
        except OSError:
            return False

    try:
        snmtest.wait_until(controller_up, timeout=RSPAMD_START_TIMEOUT, interval=0.2, what="rspamd controller")
    except BaseException:
        rspamd.stop()
        raise
    return rspamd


def stop_all(*servers):
    """Stops every server given (None entries are skipped), last first."""
    for server in reversed(servers):
        if server is not None:
            server.stop()
