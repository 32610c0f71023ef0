"""Helpers for snm-policyd's integration tests: start the daemon, speak its
two protocols, and run the Postfix `snmctl apply` renders, privately (with
a Dovecot for SASL and quota-status, and smtp-sink capture sinks), wired
to it.

Everything binds 127.0.0.1 or a unix socket in the test's directory, and is
stopped by pid.
"""
import os
import shutil
import socket
import subprocess
import time
from pathlib import Path

import snmtest

POLICYD = snmtest.BUILD_DIR / "policyd" / "snm-policyd"
# The unprivileged user the daemon switches to when the tests run as root.
DAEMON_USER = "nobody"


def open_to_daemons(path):
    """Lets the unprivileged daemons (nobody, postfix) reach `path`: the
    test's temporary directories are 0700 by default."""
    path = Path(path)
    for part in [path, *path.parents]:
        if str(part) in ("/", "/tmp"):
            break
        os.chmod(part, os.stat(part).st_mode | 0o755)


def apply_config(toml_text, root):
    """Compiles `toml_text` with `snmctl apply --root root`; returns the state directory."""
    config = Path(root) / "snm.toml"
    config.write_text(toml_text)
    snmtest.snmctl("apply", "-c", config, "--root", root)
    state = Path(root) / "var" / "lib" / "snm"
    open_to_daemons(state)
    return state


class Policyd:
    """snm-policyd in the foreground: the socketmap on TCP, the policy
    service on a unix socket (or TCP too, with policy_inet) — or both on
    the unix sockets a rendered Postfix names (`sockets`, rendered_sockets)."""

    def __init__(self, state, workdir, extra_args=(), policy_inet=False, sockets=None):
        self.workdir = Path(workdir)
        if sockets:
            sockets["policy"].parent.mkdir(parents=True, exist_ok=True)
            self.socketmap_spec = f"unix:{sockets['socketmap']}"
            self.policy_path = str(sockets["policy"])
            self.policy_spec = "unix:" + self.policy_path
        else:
            self.socketmap_port = snmtest.free_port()
            self.socketmap_spec = f"inet:127.0.0.1:{self.socketmap_port}"
            if policy_inet:
                self.policy_port = snmtest.free_port()
                self.policy_spec = f"inet:127.0.0.1:{self.policy_port}"
            else:
                self.policy_path = str(self.workdir / "policy.sock")
                self.policy_spec = "unix:" + self.policy_path
        argv = [POLICYD, "-f", "--state", state, "--policy-socket", self.policy_spec,
                "--socketmap-socket", self.socketmap_spec, "--socket-mode", "0666", *extra_args]
        if os.geteuid() == 0:
            argv += ["--user", DAEMON_USER]
        self.log_path = self.workdir / "snm-policyd.log"
        self.process = snmtest.Process(argv, log_path=self.log_path)
        for spec in (self.socketmap_spec, self.policy_spec):
            kind, _, address = spec.partition(":")
            if kind == "unix":
                snmtest.wait_for_path(address)
            else:
                snmtest.wait_for_port(int(address.rsplit(":", 1)[1]))

    def postfix_table(self, name):
        """The Postfix table name of one of the daemon's maps."""
        return f"socketmap:{self.socketmap_spec}:{name}"

    def log(self):
        return self.process.log()

    def stop(self):
        self.process.stop()


# --- the two protocols, spoken directly ------------------------------------

def netstring(payload):
    data = payload.encode() if isinstance(payload, str) else payload
    return str(len(data)).encode() + b":" + data + b","


class SocketmapClient:
    """One persistent socketmap connection, as Postfix keeps it."""

    def __init__(self, port):
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=10)
        self.buffer = b""

    def send_raw(self, data):
        self.sock.sendall(data)

    def read_reply(self):
        while True:
            colon = self.buffer.find(b":")
            if colon > 0:
                length = int(self.buffer[:colon])
                end = colon + 1 + length
                if len(self.buffer) > end:
                    assert self.buffer[end:end + 1] == b",", self.buffer
                    reply = self.buffer[colon + 1:end].decode()
                    self.buffer = self.buffer[end + 1:]
                    return reply
            chunk = self.sock.recv(65536)
            if not chunk:
                raise ConnectionError("socketmap server closed the connection")
            self.buffer += chunk

    def query(self, table, key):
        self.send_raw(netstring(f"{table} {key}"))
        return self.read_reply()

    def closed_by_server(self):
        """True when the server closes this connection (EOF within the socket timeout)."""
        try:
            return self.sock.recv(1) == b""
        except ConnectionResetError:
            return True

    def close(self):
        self.sock.close()


def policy_request(**attributes):
    attributes.setdefault("request", "smtpd_access_policy")
    attributes.setdefault("protocol_state", "RCPT")
    return "".join(f"{k}={v}\n" for k, v in attributes.items()) + "\n"


class PolicyClient:
    """One persistent policy connection over the unix socket."""

    def __init__(self, path):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.settimeout(10)
        self.sock.connect(path)
        self.buffer = b""

    def send_raw(self, data):
        self.sock.sendall(data.encode() if isinstance(data, str) else data)

    def read_reply(self):
        while b"\n\n" not in self.buffer:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise ConnectionError("policy server closed the connection")
            self.buffer += chunk
        reply, self.buffer = self.buffer.split(b"\n\n", 1)
        assert reply.startswith(b"action="), reply
        return reply[len(b"action="):].decode()

    def ask(self, **attributes):
        self.send_raw(policy_request(**attributes))
        return self.read_reply()

    def close(self):
        self.sock.close()


def postmap_query(key, table, config_dir=None):
    """`postmap -q KEY TABLE`: the value, or None when not found."""
    argv = ["postmap"] + (["-c", str(config_dir)] if config_dir else []) + ["-q", key, table]
    result = subprocess.run(argv, capture_output=True, text=True)
    if result.returncode == 1:
        return None
    assert result.returncode == 0, f"{' '.join(argv)}: {result.stderr}"
    return result.stdout.strip()


# --- the Postfix snm renders, run privately, and what it talks to ---------

def rendered_sockets(root):
    """Where the configuration `snmctl apply --root root` renders expects the
    other parts: a system install's layout under `root` (ctl/install/deployment.cpp)."""
    root = Path(root)
    return {
        "policy": root / "run" / "snm-policyd" / "policy",
        "socketmap": root / "run" / "snm-policyd" / "socketmap",
        "sasl": root / "run" / "dovecot" / "snm-auth",
        "lmtp": root / "run" / "dovecot" / "snm-lmtp",
        "quota_status": root / "run" / "dovecot" / "snm-quota-status",
    }


class Sink:
    """smtp-sink writing each message, with its envelope, into a directory:
    on a TCP port, or speaking LMTP on a unix socket (`lmtp_socket`)."""

    def __init__(self, workdir, name, lmtp_socket=None):
        self.dir = Path(workdir) / name
        self.dir.mkdir()
        shutil.chown(self.dir, user="postfix")
        if lmtp_socket:
            Path(lmtp_socket).parent.mkdir(parents=True, exist_ok=True)
            self.port = None
            listen = ["-L", f"unix:{lmtp_socket}"]
        else:
            self.port = snmtest.free_port()
            listen = [f"127.0.0.1:{self.port}"]
        self.process = snmtest.Process(["smtp-sink", "-u", "postfix", "-d", f"{self.dir}/%H%M%S.", *listen, "50"],
                                       log_path=Path(workdir) / f"{name}.log")
        if lmtp_socket:
            snmtest.wait_for_path(lmtp_socket)
            os.chmod(lmtp_socket, 0o666)  # made by root before smtp-sink drops to postfix
        else:
            snmtest.wait_for_port(self.port)

    def messages(self):
        return [p.read_text(errors="replace") for p in sorted(self.dir.iterdir()) if p.is_file()]

    def wait_for(self, token, timeout=30):
        """The envelope recipients of the message containing `token`."""
        def find():
            for text in self.messages():
                if token in text:
                    return [line[len("X-Rcpt-Args: <"):].split(">")[0]
                            for line in text.splitlines() if line.startswith("X-Rcpt-Args: <")]
            return None
        return snmtest.wait_until(find, timeout=timeout, what=f"a message with {token} in {self.dir}")

    def stop(self):
        self.process.stop()


class DovecotForPostfix:
    """Dovecot with the two services Postfix asks while it receives mail,
    on the sockets the rendered main.cf names: auth (SASL, a passwd-file
    passdb) and quota-status (no quota rules: every answer is DUNNO)."""

    def __init__(self, workdir, users, sasl_socket, quota_status_socket):
        self.dir = Path(workdir) / "dovecot"
        self.dir.mkdir()
        (self.dir / "users").write_text("".join(f"{user}:{{PLAIN}}{password}\n" for user, password in users.items()))
        for socket_path in (sasl_socket, quota_status_socket):
            Path(socket_path).parent.mkdir(parents=True, exist_ok=True)
        config = self.dir / "dovecot.conf"
        config.write_text(f"""
protocols =
base_dir = {self.dir}/run
state_dir = {self.dir}/state
instance_name = snm-policyd-test-{os.getpid()}
log_path = {self.dir}/dovecot.log
listen = 127.0.0.1
ssl = no
disable_plaintext_auth = no
auth_mechanisms = plain login
passdb {{
  driver = passwd-file
  args = username_format=%u {self.dir}/users
}}
# An unknown user is one the passdb does not know (quota-status: DUNNO).
# quota-status opens no mailbox, but wants to know where one would be.
userdb {{
  driver = static
  args = uid=65534 gid=65534 home=/nonexistent
}}
mail_location = maildir:~/Maildir
mail_plugins = quota
plugin {{
  quota = maildir:User quota
  quota_status_success = DUNNO
  quota_status_nouser = DUNNO
}}
service auth {{
  unix_listener {sasl_socket} {{
    mode = 0666
  }}
}}
service quota-status {{
  executable = quota-status -p postfix
  unix_listener {quota_status_socket} {{
    mode = 0666
  }}
  client_limit = 1
}}
""")
        self.process = snmtest.Process(["dovecot", "-F", "-c", config], log_path=self.dir / "stdout.log")
        snmtest.wait_for_path(sasl_socket)
        snmtest.wait_for_path(quota_status_socket)

    def stop(self):
        self.process.stop()


def postconf(config_dir, *args):
    return snmtest.run(["postconf", "-c", config_dir, *args]).stdout


class Postfix:
    """The Postfix that `snmctl apply --root root` rendered, run privately
    from its own directory. Its main.cf and master.cf are copies of the
    rendered ones, changed with postconf only where a private test
    instance must differ (`main_cf_changes`, `services`):

    * queue_directory, data_directory: its own, so that several instances
      can run from one rendering;
    * maillog_file (and its allowed prefix): a log file the test can read,
      not syslog;
    * relayhost: mail for other domains goes to `relay_sink`, not to the
      Internet;
    * every inet service (smtp, submission, submissions) listens on
      127.0.0.1 and a free port instead of its standard port, without
      smtpd_milters: the tests run neither rspamd nor snm-dkim-milter.

    Everything else — maps, restrictions, policy services, TLS, SASL,
    virtual_transport — is as rendered, so the parts it talks to must
    listen where `rendered_sockets` says. `settings` are further main.cf
    parameters (the benchmark's comparison maps)."""

    def __init__(self, root, workdir, relay_sink, settings=None):
        self.rendered_dir = Path(root) / "etc" / "postfix"
        self.dir = Path(workdir) / "postfix"
        self.config_dir = self.dir / "etc"
        for sub in ("etc", "queue", "data"):
            (self.dir / sub).mkdir(parents=True)
        shutil.chown(self.dir / "data", user="postfix")
        for name in ("main.cf", "master.cf"):
            shutil.copy2(self.rendered_dir / name, self.config_dir / name)
        self.log_path = self.dir / "postfix.log"
        self.main_cf_changes = {
            "queue_directory": self.dir / "queue",
            "data_directory": self.dir / "data",
            "maillog_file": self.log_path,
            "maillog_file_prefixes": self.dir,
            "relayhost": f"[127.0.0.1]:{relay_sink.port}",
            **(settings or {}),
        }
        postconf(self.config_dir, "-e", *(f"{name}={value}" for name, value in self.main_cf_changes.items()))
        # Rendered service name -> the 127.0.0.1:port it listens on here.
        self.services = {}
        for entry in postconf(self.config_dir, "-M").splitlines():
            name, kind, fields = entry.split(None, 2)
            if kind != "inet":
                continue
            listener = f"127.0.0.1:{snmtest.free_port()}"
            postconf(self.config_dir, "-MX", f"{name}/inet")
            postconf(self.config_dir, "-M", f"{listener}/inet={listener} inet {fields}")
            postconf(self.config_dir, "-P", f"{listener}/inet/smtpd_milters=")
            self.services[name] = listener
        self.smtp_port = self.port("smtp")
        self.submission_port = self.port("submission")
        old = time.time() - 120  # Postfix waits for younger config files to settle
        for name in ("main.cf", "master.cf"):
            os.utime(self.config_dir / name, (old, old))
        self.process = snmtest.Process(["postfix", "-c", self.config_dir, "start-fg"],
                                       log_path=self.dir / "master.log")
        try:
            for service in self.services:
                snmtest.wait_for_port(self.port(service))
        except TimeoutError:
            raise AssertionError("Postfix did not start:\n" + self.log())

    def port(self, service):
        """The port the rendered `service` (smtp, submission, ...) listens on here."""
        return int(self.services[service].rsplit(":", 1)[1])

    def log(self):
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def stop(self):
        subprocess.run(["postfix", "-c", str(self.config_dir), "stop"], capture_output=True)
        self.process.stop()
