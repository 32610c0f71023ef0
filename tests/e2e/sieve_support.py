"""A private Dovecot with Pigeonhole, imapsieve and snm's sieve plugin,
for the sieve integration tests.

The sieve part of its configuration is ``sieve/scripts/dovecot-sieve.conf.in``
rendered as snmctl renders it, so the settings tested are the settings
documented. Around it: IMAP and LMTP on free 127.0.0.1 ports, a
``passwd-file`` passdb/userdb (independent of snm's own auth driver), maildir
under a home directory owned by a numeric mail uid, and the mailboxes
Junk/Trash/Archive with their special-use flags. The plugin is loaded from
the build tree: ``sieve_plugin_dir`` is a directory of symlinks to it and
to Pigeonhole's own plugins (``make_plugin_dir``). The scripts are
copied next to the configuration and precompiled with ``sievec -c``.

Everything is stopped by pid (``Process.stop``).
"""
import os
import re
import shutil
import smtplib
from dataclasses import dataclass
from pathlib import Path

import snmtest

DOVECOT = "/usr/sbin/dovecot"
SIEVEC = "/usr/bin/sievec"
SIEVE_SOURCE_DIR = snmtest.SOURCE_ROOT / "sieve" / "scripts"
SIEVE_SCRIPTS = ("spam-to-junk.sieve", "learn-spam.sieve", "learn-ham.sieve")
PLUGIN_NAME = "lib90_sieve_snm_plugin.so"
SYSTEM_SIEVE_PLUGIN_DIR = Path("/usr/lib/dovecot/modules/sieve")
# A numeric uid/gid without a passwd entry owns the mail (STACK-NOTES.md).
MAIL_UID = 5000
MAIL_GID = 5000
DOVECOT_START_TIMEOUT = 30.0


def built_plugin():
    """lib90_sieve_snm_plugin.so in the build tree."""
    path = snmtest.BUILD_DIR / "sieve" / PLUGIN_NAME
    if not path.exists():
        raise AssertionError(f"{path} is missing: build it (meson compile -C {snmtest.BUILD_DIR} sieve/{PLUGIN_NAME})")
    return path


def make_plugin_dir(directory):
    """A sieve_plugin_dir holding Pigeonhole's own plugins and ours from the
    build tree, as symlinks: Pigeonhole loads every plugin of sieve_plugins
    from one directory, and imapsieve's is in the system's."""
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    for plugin in SYSTEM_SIEVE_PLUGIN_DIR.glob("lib*_sieve_*_plugin.so"):
        (directory / plugin.name).symlink_to(plugin)
    (directory / PLUGIN_NAME).symlink_to(built_plugin())
    return directory


def render_sieve_settings(plugin_directory, script_directory, junk_mailbox, controller, password_file):
    """sieve/scripts/dovecot-sieve.conf.in with its placeholders filled."""
    text = (SIEVE_SOURCE_DIR / "dovecot-sieve.conf.in").read_text()
    for name, value in {
        "SIEVE_PLUGIN_DIR": plugin_directory,
        "SIEVE_SCRIPT_DIR": script_directory,
        "JUNK_MAILBOX": junk_mailbox,
        "LEARN_CONTROLLER": controller,
        "LEARN_PASSWORD_FILE": password_file,
    }.items():
        text = text.replace(f"@{name}@", str(value))
    leftover = re.search(r"@[A-Z_]+@", text)
    assert leftover is None, f"dovecot-sieve.conf.in: {leftover.group(0)} not rendered"
    return text


@dataclass
class Dovecot:
    directory: Path
    config: Path
    imap_port: int
    lmtp_port: int
    process: snmtest.Process

    def stop(self):
        self.process.stop()

    def log(self):
        path = self.directory / "dovecot.log"
        return path.read_text(errors="replace") if path.exists() else ""

    def wait_for_log(self, text):
        """The first log line containing ``text``, waiting for it: Dovecot's
        processes log through its log process, a moment after the fact."""
        def line():
            return next((line for line in self.log().splitlines() if text in line), None)
        return snmtest.wait_until(line, what=f"Dovecot log line with {text!r}")

    def deliver(self, recipient, message):
        """Delivers ``message`` (bytes) to ``recipient`` over LMTP."""
        with smtplib.LMTP("127.0.0.1", self.lmtp_port, timeout=30) as lmtp:
            lmtp.sendmail("sender@example.net", [recipient], message)


def _own(path, recursive=False):
    if os.geteuid() != 0:
        return
    os.chown(path, MAIL_UID, MAIL_GID)
    if recursive:
        for root, dirs, files in os.walk(path):
            for name in dirs + files:
                os.chown(os.path.join(root, name), MAIL_UID, MAIL_GID)


def start_dovecot(directory, users, controller, password_file, junk_mailbox="Junk"):
    """Starts a private Dovecot in ``directory``.

    ``users`` maps login names to passwords. ``controller`` is the
    snm_learn_controller setting (unix:PATH or inet:HOST:PORT)."""
    directory = Path(directory)
    for sub in ("run", "state", "home", "scripts"):
        (directory / sub).mkdir(parents=True, exist_ok=True)
    os.chmod(directory, 0o755)
    imap_port, lmtp_port = snmtest.free_port(), snmtest.free_port()

    passwd = directory / "passwd"
    passwd.write_text("".join(
        f"{user}:{{PLAIN}}{password}:{MAIL_UID}:{MAIL_GID}::{directory / 'home' / user}\n"
        for user, password in users.items()))
    for user in users:
        home = directory / "home" / user
        home.mkdir(exist_ok=True)
        _own(home)

    script_dir = directory / "scripts"
    for name in SIEVE_SCRIPTS:
        shutil.copy(SIEVE_SOURCE_DIR / name, script_dir / name)

    (directory / "dovecot-sieve.conf").write_text(
        render_sieve_settings(make_plugin_dir(directory / "sieve-plugins"), script_dir, junk_mailbox, controller, password_file))
    config = directory / "dovecot.conf"
    config.write_text(f"""\
# Private Dovecot for snm's sieve tests.
base_dir = {directory / 'run'}
state_dir = {directory / 'state'}
instance_name = snm-sieve-{os.getpid()}-{imap_port}
log_path = {directory / 'dovecot.log'}
listen = 127.0.0.1
protocols = imap lmtp
protocol imap {{
  mail_plugins = $mail_plugins imap_sieve
}}
protocol lmtp {{
  mail_plugins = $mail_plugins sieve
}}
ssl = no
disable_plaintext_auth = no
auth_mechanisms = plain
mail_location = maildir:~/Maildir
first_valid_uid = {MAIL_UID}
last_valid_uid = {MAIL_UID}

passdb {{
  driver = passwd-file
  args = scheme=PLAIN username_format=%u {passwd}
}}
userdb {{
  driver = passwd-file
  args = username_format=%u {passwd}
}}

namespace inbox {{
  inbox = yes
  separator = /
  mailbox {junk_mailbox} {{
    special_use = \\Junk
    auto = create
  }}
  mailbox Trash {{
    special_use = \\Trash
    auto = create
  }}
  mailbox Archive {{
    special_use = \\Archive
    auto = create
  }}
}}

service imap-login {{
  inet_listener imap {{
    address = 127.0.0.1
    port = {imap_port}
  }}
  inet_listener imaps {{
    port = 0
  }}
}}
service lmtp {{
  inet_listener lmtp {{
    address = 127.0.0.1
    port = {lmtp_port}
  }}
}}

!include {directory / 'dovecot-sieve.conf'}
""")
    for name in SIEVE_SCRIPTS:
        snmtest.run([SIEVEC, "-c", config, script_dir / name])

    process = snmtest.Process([DOVECOT, "-F", "-c", config], log_path=directory / "dovecot.stdout")
    try:
        snmtest.wait_for_port(imap_port, timeout=DOVECOT_START_TIMEOUT)
        snmtest.wait_for_port(lmtp_port, timeout=DOVECOT_START_TIMEOUT)
    except BaseException:
        process.stop()
        raise
    return Dovecot(directory=directory, config=config, imap_port=imap_port, lmtp_port=lmtp_port,
                   process=process)
