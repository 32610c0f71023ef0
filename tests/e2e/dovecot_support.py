"""A private Dovecot that loads snm's auth module (libauthdb_snm.so), for
tests, benchmarks and anything else that must not touch the system's Dovecot.

Dovecot loads auth modules only from the directory it was built with
(/usr/lib/dovecot/modules/auth). The method here leaves that directory
alone: the Dovecot master runs in a private mount namespace in which a
test directory, holding copies of the stock auth modules plus ours, is
bind-mounted over it. Its children (auth, auth-worker, imap, ...) inherit
the namespace; nothing outside sees the mount. Needs root (unshare -m).

    modules = auth_module_dir(workdir / "auth-modules")
    dovecot = start_dovecot(conf, modules, workdir / "dovecot.out")
    ...
    dovecot.stop()

PrivateDovecot below wraps that with a minimal configuration (IMAP and POP3
with STARTTLS on 127.0.0.1 ports picked at run time, passdb and userdb
`snm`) for the end-to-end tests.
"""
import os
import shutil
import subprocess
from pathlib import Path

import snmtest

DOVECOT_AUTH_MODULE_DIR = Path("/usr/lib/dovecot/modules/auth")
PLUGIN = snmtest.BUILD_DIR / "dovecot-plugin" / "libauthdb_snm.so"


def auth_module_dir(directory, plugin=PLUGIN):
    """Fills `directory` with copies of Dovecot's stock auth modules and
    `plugin`, and returns it. Copies, not symlinks: a link into the stock
    directory would point back into the bind mount."""
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    for stock in DOVECOT_AUTH_MODULE_DIR.iterdir():
        if stock.is_file():
            shutil.copy2(stock, directory / stock.name)
    shutil.copy2(plugin, directory / Path(plugin).name)
    directory.chmod(0o755)
    return directory


def start_dovecot(config_path, module_dir, log_path=None):
    """Starts `dovecot -F -c CONFIG` with `module_dir` mounted over Dovecot's
    auth module directory in a mount namespace of its own, and returns the
    snmtest.Process (stop() sends SIGTERM to the Dovecot master by pid:
    unshare and sh exec into it, no extra process is left in between)."""
    script = 'mount --bind "$1" "$2" && exec dovecot -F -c "$3"'
    return snmtest.Process(["unshare", "-m", "--propagation", "private", "sh", "-c", script, "sh",
                            module_dir, DOVECOT_AUTH_MODULE_DIR, config_path], log_path=log_path)


def doveadm(config_path, *args, check=True, **kwargs):
    """Runs `doveadm -c CONFIG ARGS...` against that instance."""
    return snmtest.run(["doveadm", "-c", config_path, *args], check=check, **kwargs)


def self_signed_certificate(directory, name="localhost"):
    """(certificate, key) paths of a throwaway self-signed certificate."""
    directory = Path(directory)
    cert, key = directory / "cert.pem", directory / "key.pem"
    snmtest.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", f"/CN={name}",
                 "-keyout", key, "-out", cert])
    key.chmod(0o600)
    return cert, key


class PrivateDovecot:
    """Dovecot on 127.0.0.1 with `passdb`/`userdb` driver snm on `snapshot`.

    workdir must be traversable by Dovecot's unprivileged users (mode 0755
    on the path): Dovecot's auth runs as `dovecot`, mail processes as the
    vmail uid. `auth_blocks` are extra top-level lines (e.g. the passdb and
    userdb sections of a comparison run); by default the snm ones.
    """

    def __init__(self, workdir, snapshot, settings=None, auth_blocks=None, plugin=PLUGIN):
        self.workdir = Path(workdir)
        self.snapshot = Path(snapshot)
        self.imap_port = snmtest.free_port()
        self.pop3_port = snmtest.free_port()
        self.base_dir = self.workdir / "run"
        self.log_path = self.workdir / "dovecot.log"
        self.config_path = self.workdir / "dovecot.conf"
        self.settings = dict(settings or {})
        self.auth_blocks = auth_blocks if auth_blocks is not None else self.snm_auth_blocks(snapshot)
        self.plugin = plugin
        self.process = None

    @staticmethod
    def snm_auth_blocks(snapshot, passdb_args="", userdb_args=""):
        return (f"passdb {{\n  driver = snm\n  args = {passdb_args} {snapshot}\n}}\n"
                f"userdb {{\n  driver = snm\n  args = {userdb_args} {snapshot}\n}}\n")

    def write_config(self):
        for sub in ("run", "state"):
            (self.workdir / sub).mkdir(parents=True, exist_ok=True)
        cert, key = self_signed_certificate(self.workdir)
        settings = {
            "base_dir": self.base_dir,
            "state_dir": self.workdir / "state",
            "instance_name": f"snm-test-{os.getpid()}-{self.imap_port}",
            "log_path": self.log_path,
            "listen": "127.0.0.1",
            "protocols": "imap pop3",
            "ssl": "yes",
            "ssl_cert": f"<{cert}",
            "ssl_key": f"<{key}",
            "auth_mechanisms": "plain login",
            "mail_privileged_group": "",
            "first_valid_uid": "100",
        }
        settings.update(self.settings)
        lines = [f"{k} = {v}" for k, v in settings.items()]
        lines += [
            "service imap-login {",
            f"  inet_listener imap {{\n    port = {self.imap_port}\n  }}",
            "  inet_listener imaps {\n    port = 0\n  }",
            "}",
            "service pop3-login {",
            f"  inet_listener pop3 {{\n    port = {self.pop3_port}\n  }}",
            "  inet_listener pop3s {\n    port = 0\n  }",
            "}",
            self.auth_blocks,
        ]
        self.config_path.write_text("\n".join(lines) + "\n")

    def start(self):
        self.write_config()
        modules = auth_module_dir(self.workdir / "auth-modules", self.plugin)
        self.process = start_dovecot(self.config_path, modules, self.workdir / "dovecot.out")
        try:
            snmtest.wait_for_port(self.imap_port)
            snmtest.wait_for_port(self.pop3_port)
            snmtest.wait_for_path(self.base_dir / "auth-userdb")
        except TimeoutError:
            self.stop()
            raise AssertionError(f"Dovecot did not start:\n{self.log()}\n{(self.workdir / 'dovecot.out').read_text()}")
        return self

    def stop(self):
        if self.process is not None:
            self.process.stop()
            self.process = None

    def doveadm(self, *args, check=True):
        return doveadm(self.config_path, *args, check=check)

    def log(self):
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()
