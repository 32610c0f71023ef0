"""Helpers for snm-policyd's integration tests: start the daemon, speak its
two protocols, and run a private Postfix (with a Dovecot auth service for
SASL and smtp-sink capture sinks) wired to it.

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
    service on a unix socket (or TCP too, with policy_inet)."""

    def __init__(self, state, workdir, extra_args=(), policy_inet=False):
        self.workdir = Path(workdir)
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
        snmtest.wait_for_port(self.socketmap_port)
        if policy_inet:
            snmtest.wait_for_port(self.policy_port)
        else:
            snmtest.wait_for_path(self.policy_path)

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


# --- a private Postfix, its SASL backend and its capture sinks --------------

class Sink:
    """smtp-sink writing each message, with its envelope, into a directory."""

    def __init__(self, workdir, name):
        self.dir = Path(workdir) / name
        self.dir.mkdir()
        shutil.chown(self.dir, user="postfix")
        self.port = snmtest.free_port()
        self.process = snmtest.Process(["smtp-sink", "-u", "postfix", "-d", f"{self.dir}/%H%M%S.",
                                        f"127.0.0.1:{self.port}", "50"], log_path=Path(workdir) / f"{name}.log")
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


class DovecotAuth:
    """Dovecot with only its auth service: a passwd-file passdb, a unix
    listener for Postfix's smtpd_sasl_type = dovecot."""

    def __init__(self, workdir, users):
        self.dir = Path(workdir) / "dovecot"
        self.dir.mkdir()
        (self.dir / "users").write_text("".join(f"{user}:{{PLAIN}}{password}\n" for user, password in users.items()))
        self.socket = str(self.dir / "auth-client")
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
userdb {{
  driver = static
  args = uid=65534 gid=65534 home=/nonexistent
}}
service auth {{
  unix_listener {self.socket} {{
    mode = 0666
  }}
}}
""")
        self.process = snmtest.Process(["dovecot", "-F", "-c", config], log_path=self.dir / "stdout.log")
        snmtest.wait_for_path(self.socket)

    def stop(self):
        self.process.stop()


class Postfix:
    """A private Postfix on 127.0.0.1: port 25 (MX) and a submission port
    with SASL, its maps and policy from snm-policyd, local deliveries to one
    sink (virtual_transport) and everything else to another (relayhost)."""

    def __init__(self, workdir, policyd, local_sink, relay_sink, sasl_path, tables=None, sender_restrictions=None,
                 recipient_restrictions=None, virtual_transport=None):
        """By default wired as snm renders it: the four tables as socketmap:
        tables of `policyd`, check_policy_service in both restriction lists
        (with policy_context). The benchmark passes hash: tables and access
        maps instead."""
        self.dir = Path(workdir) / "postfix"
        self.config_dir = self.dir / "etc"
        for sub in ("etc", "queue", "data"):
            (self.dir / sub).mkdir(parents=True)
        shutil.chown(self.dir / "data", user="postfix")
        self.smtp_port = snmtest.free_port()
        self.submission_port = snmtest.free_port()
        self.log_path = self.dir / "postfix.log"
        policy = policyd.policy_spec if policyd else ""
        if tables is None:
            tables = {name: policyd.postfix_table(name) for name in ("domains", "mailboxes", "aliases", "senders")}
        if sender_restrictions is None:
            sender_restrictions = f"check_policy_service {{ {policy}, policy_context=sender, timeout=10s }}"
        if recipient_restrictions is None:
            recipient_restrictions = f"check_policy_service {{ {policy}, policy_context=recipient, timeout=10s }}"
        if virtual_transport is None:
            virtual_transport = f"smtp:[127.0.0.1]:{local_sink.port}"
        (self.config_dir / "main.cf").write_text(f"""
compatibility_level = 3.6
queue_directory = {self.dir}/queue
data_directory = {self.dir}/data
mail_owner = postfix
setgid_group = postdrop
maillog_file = {self.log_path}
maillog_file_prefixes = {self.dir}
myhostname = mx.policyd-test.invalid
mydomain = policyd-test.invalid
myorigin = $mydomain
mydestination =
mynetworks = 192.0.2.0/24
inet_interfaces = 127.0.0.1
inet_protocols = ipv4
smtp_dns_support_level = disabled
smtp_host_lookup = native
lmtp_host_lookup = native
relayhost = [127.0.0.1]:{relay_sink.port}
queue_run_delay = 1s
minimal_backoff_time = 1s
maximal_backoff_time = 2s
smtpd_error_sleep_time = 0
in_flow_delay = 0
recipient_delimiter = +

# What snm renders: maps and policy from snm-policyd.
virtual_mailbox_domains = {tables['domains']}
virtual_mailbox_maps = {tables['mailboxes']}
virtual_alias_maps = {tables['aliases']}
virtual_alias_domains =
virtual_transport = {virtual_transport}
smtpd_sender_login_maps = {tables['senders']}
smtpd_sender_restrictions = {sender_restrictions}
smtpd_relay_restrictions = permit_sasl_authenticated, reject_unauth_destination
smtpd_recipient_restrictions = reject_non_fqdn_recipient, reject_unlisted_recipient, {recipient_restrictions}

smtpd_sasl_type = dovecot
smtpd_sasl_path = {sasl_path}
smtpd_sasl_auth_enable = no
smtpd_sasl_security_options = noanonymous
smtpd_tls_security_level = none
""")
        (self.config_dir / "master.cf").write_text(f"""
127.0.0.1:{self.smtp_port} inet n - n - - smtpd
127.0.0.1:{self.submission_port} inet n - n - - smtpd
  -o syslog_name=postfix/submission
  -o smtpd_sasl_auth_enable=yes
  -o smtpd_client_restrictions=permit_sasl_authenticated,reject
  -o smtpd_relay_restrictions=permit_sasl_authenticated,reject
  -o smtpd_recipient_restrictions=reject_non_fqdn_recipient,permit_sasl_authenticated,reject
pickup    unix  n       -       n       60      1       pickup
cleanup   unix  n       -       n       -       0       cleanup
qmgr      unix  n       -       n       300     1       qmgr
rewrite   unix  -       -       n       -       -       trivial-rewrite
bounce    unix  -       -       n       -       0       bounce
defer     unix  -       -       n       -       0       bounce
trace     unix  -       -       n       -       0       bounce
verify    unix  -       -       n       -       1       verify
flush     unix  n       -       n       1000?   0       flush
proxymap  unix  -       -       n       -       -       proxymap
smtp      unix  -       -       n       -       -       smtp
relay     unix  -       -       n       -       -       smtp
showq     unix  n       -       n       -       -       showq
error     unix  -       -       n       -       -       error
retry     unix  -       -       n       -       -       error
discard   unix  -       -       n       -       -       discard
anvil     unix  -       -       n       -       1       anvil
scache    unix  -       -       n       -       1       scache
postlog   unix-dgram n  -       n       -       1       postlogd
""")
        old = time.time() - 120  # Postfix waits for younger config files to settle
        for name in ("main.cf", "master.cf"):
            os.utime(self.config_dir / name, (old, old))
        self.process = snmtest.Process(["postfix", "-c", self.config_dir, "start-fg"],
                                       log_path=self.dir / "master.log")
        try:
            snmtest.wait_for_port(self.smtp_port)
            snmtest.wait_for_port(self.submission_port)
        except TimeoutError:
            raise AssertionError("Postfix did not start:\n" + self.log())

    def log(self):
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def stop(self):
        subprocess.run(["postfix", "-c", str(self.config_dir), "stop"], capture_output=True)
        self.process.stop()
