"""PID 1 of the install test's private namespaces.

    unshare --mount --pid --net --fork --kill-child --propagation private -- \
        /usr/bin/python3 ns_init.py ROOT SYSLOG_FILE

Run by namespace.py as the first process of fresh mount, PID and network
namespaces. It prepares ROOT the way a booted system has it — /proc of the
new PID namespace, a minimal /dev (null, zero, full, random, urandom, tty,
shm), a sysfs mounted read-only, tmpfs on /run and /tmp — brings the
loopback interface up, chroots into ROOT, prints "ready" on stdout and then
stays, as an init does, until it is killed:

* it reaps every orphan handed to it (daemons that fork into the
  background end up as its children);
* it is the root's syslog: a datagram socket on /dev/log whose messages it
  appends to SYSLOG_FILE (a host path, opened before the chroot). Postfix
  logs only to syslog unless its main.cf names a `maillog_file` (Postfix
  3.7's postlog service), and that file is snm's to render, not the
  test's; Dovecot logs to syslog unless `log_path` is set. A sink here
  captures both whatever snm renders, with no change to the configuration.

Every mount lives in the private mount namespace and goes with it; the
kernel kills every process of the PID namespace when this one dies, so the
test's teardown is one SIGKILL to this pid. Everything the loop needs is
imported before the chroot: the root's own Python, if any, is never used.
"""
import os
import select
import socket
import subprocess
import sys

# The device nodes a mail server's processes open, bound from the host.
DEVICE_NODES = ("null", "zero", "full", "random", "urandom", "tty")
# Longest syslog datagram kept whole (glibc's syslog() sends one per message).
SYSLOG_DATAGRAM_LIMIT = 65536
# Seconds between two rounds of reaping when no log message arrives.
REAP_INTERVAL = 0.5


def mount(*args):
    subprocess.run(["mount", *args], check=True)


def prepare_root(root):
    mount("-t", "proc", "-o", "nosuid,nodev,noexec", "proc", f"{root}/proc")
    mount("-t", "sysfs", "-o", "ro,nosuid,nodev,noexec", "sysfs", f"{root}/sys")
    mount("-t", "tmpfs", "-o", "mode=0755,nosuid", "tmpfs", f"{root}/dev")
    for name in DEVICE_NODES:
        open(f"{root}/dev/{name}", "w").close()
        mount("--bind", f"/dev/{name}", f"{root}/dev/{name}")
    for name, target in (("fd", "/proc/self/fd"), ("stdin", "/proc/self/fd/0"),
                         ("stdout", "/proc/self/fd/1"), ("stderr", "/proc/self/fd/2")):
        os.symlink(target, f"{root}/dev/{name}")
    os.mkdir(f"{root}/dev/shm")
    mount("-t", "tmpfs", "-o", "mode=1777,nosuid,nodev", "tmpfs", f"{root}/dev/shm")
    mount("-t", "tmpfs", "-o", "mode=0755,nosuid,nodev", "tmpfs", f"{root}/run")
    os.mkdir(f"{root}/run/lock", 0o1777)
    os.chmod(f"{root}/run/lock", 0o1777)
    mount("-t", "tmpfs", "-o", "mode=1777,nosuid,nodev", "tmpfs", f"{root}/tmp")


def open_syslog_socket(root):
    sink = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sink.bind(f"{root}/dev/log")
    os.chmod(f"{root}/dev/log", 0o666)
    return sink


def reap_orphans():
    while True:
        try:
            pid, _ = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            return


def serve(sink, syslog):
    while True:
        readable, _, _ = select.select([sink], [], [], REAP_INTERVAL)
        if readable:
            message = sink.recv(SYSLOG_DATAGRAM_LIMIT).rstrip(b"\0\n")
            syslog.write(message + b"\n")
            syslog.flush()
        reap_orphans()


def main():
    root, syslog_path = sys.argv[1], sys.argv[2]
    prepare_root(root)
    sink = open_syslog_socket(root)
    syslog = open(syslog_path, "ab")
    subprocess.run(["ip", "link", "set", "lo", "up"], check=True)
    os.chroot(root)
    os.chdir("/")
    print("ready", flush=True)
    sys.stdout.close()
    serve(sink, syslog)


if __name__ == "__main__":
    main()
