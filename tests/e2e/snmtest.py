"""Shared helpers for snm's end-to-end and integration tests.

Everything a test starts binds 127.0.0.1 on ports picked at run time and is
stopped by pid when the test ends. Nothing here contacts another address.
"""
import os
import signal
import socket
import subprocess
import time
from pathlib import Path

SOURCE_ROOT = Path(__file__).resolve().parents[2]
BUILD_DIR = Path(os.environ.get("SNM_BUILD_DIR", SOURCE_ROOT / "build")).resolve()
SNMCTL = BUILD_DIR / "ctl" / "snmctl"
# Debian's interpreter has python3-dkim; the python3 on PATH may not.
SYSTEM_PYTHON = "/usr/bin/python3"


def free_port():
    """A TCP port free on 127.0.0.1 right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def port_is_free(port):
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return False
        return True


def ephemeral_port_range():
    """The kernel's range for bind(port 0) and outgoing connections."""
    low, high = Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()
    return int(low), int(high)


def free_port_base(offsets, low=10000, attempts=200):
    """A base N such that N+offset is free on 127.0.0.1 for every offset.

    The range lies below the kernel's ephemeral ports: a free_port() or an
    outgoing connection made between choosing N and binding N+offset can
    never take one of them."""
    import random
    rng = random.Random(os.getpid() ^ int(time.time()))
    high = ephemeral_port_range()[0]
    for _ in range(attempts):
        base = rng.randrange(low, high - max(offsets)) // 10 * 10
        if all(port_is_free(base + o) for o in offsets):
            return base
    raise RuntimeError("no free port range found on 127.0.0.1")


def wait_for_port(port, timeout=15.0, host="127.0.0.1"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with socket.create_connection((host, port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.05)
    raise TimeoutError(f"nothing listening on {host}:{port} after {timeout}s")


def wait_for_path(path, timeout=15.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if os.path.exists(path):
            return
        time.sleep(0.05)
    raise TimeoutError(f"{path} did not appear after {timeout}s")


def wait_until(predicate, timeout=10.0, interval=0.1, what="condition"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    raise TimeoutError(f"{what} not met after {timeout}s")


class Process:
    """A child process stopped by pid: SIGTERM, then SIGKILL."""

    def __init__(self, argv, log_path=None, env=None, cwd=None):
        self.argv = [str(a) for a in argv]
        self.log_path = log_path
        self._log = open(log_path, "ab") if log_path else subprocess.DEVNULL
        self.popen = subprocess.Popen(self.argv, stdout=self._log, stderr=subprocess.STDOUT, env=env, cwd=cwd,
                                      start_new_session=True)

    @property
    def pid(self):
        return self.popen.pid

    def running(self):
        return self.popen.poll() is None

    def stop(self, timeout=10.0):
        if self.popen.poll() is None:
            try:
                os.kill(self.popen.pid, signal.SIGTERM)
                self.popen.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                os.kill(self.popen.pid, signal.SIGKILL)
                self.popen.wait()
            except ProcessLookupError:
                pass
        if self._log not in (None, subprocess.DEVNULL):
            self._log.close()

    def log(self):
        return Path(self.log_path).read_text(errors="replace") if self.log_path else ""


def run(argv, check=True, **kwargs):
    """subprocess.run with text output captured; raises with the output on failure."""
    result = subprocess.run([str(a) for a in argv], capture_output=True, text=True, **kwargs)
    if check and result.returncode != 0:
        raise AssertionError(f"{' '.join(map(str, argv))} exited {result.returncode}:\n"
                             f"{result.stdout}\n{result.stderr}")
    return result


def snmctl(*args, check=True, **kwargs):
    return run([SNMCTL, *args], check=check, **kwargs)
