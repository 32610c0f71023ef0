"""libauthdb_snm.so in a real, private Dovecot: passdb and userdb `snm` on
the accounts snapshot `snmctl apply` writes.

Each test starts its own Dovecot (dovecot_support.PrivateDovecot: base_dir
in a temporary directory, IMAP and POP3 on 127.0.0.1 ports picked at run
time, the module loaded through a private mount namespace) and stops it by
pid. Needs root, Dovecot (dovecot-core, -imapd, -pop3d) and a build tree
with the module.
"""
import grp
import imaplib
import os
import poplib
import re
import shutil
import ssl
import tempfile
from pathlib import Path

import pytest

import dovecot_support
import snmtest

pytestmark = [
    pytest.mark.skipif(os.geteuid() != 0, reason="a private Dovecot with our module needs root (unshare -m)"),
    pytest.mark.skipif(shutil.which("dovecot") is None, reason="Dovecot is not installed"),
]

VMAIL_UID = 5000
PASSWORDS = {
    "sha@example.com": ("sha512-crypt", "sha-secret"),
    "blf@example.com": ("bcrypt", "blf-secret"),
    "argon@example.org": ("argon2id", "argon-secret"),
}
# How long a test waits for something the module does within about a second.
SETTLE_SECONDS = 10


def hashed(scheme, password):
    return snmtest.snmctl("passwd", "--scheme", scheme, input=password + "\n").stdout.strip()


@pytest.fixture(scope="module")
def hashes(build_dir):
    return {user: hashed(scheme, password) for user, (scheme, password) in PASSWORDS.items()}


def accounts_toml(hashes, overrides=None, options=()):
    overrides = overrides or {}
    lines = [
        f"vmailUID = {VMAIL_UID}",
        'fqdn = "mail.example.com"',
        'domains = [ "example.com", "example.org" ]',
        'certificateScheme = "selfsigned"',
        *options,
    ]
    for user, stored in hashes.items():
        lines += [f'[loginAccounts."{user}"]', f'hashedPassword = "{overrides.get(user, stored)}"']
        if user == "sha@example.com":
            lines += ['quota = "2G"', 'sieveScript = "keep;"']
    return "\n".join(lines) + "\n"


class Site:
    """A work directory Dovecot's unprivileged users can traverse, a
    snm.toml, its applied snapshot, and a private Dovecot serving it."""

    def __init__(self, hashes, settings=None, auth_blocks=None, options=()):
        self.dir = Path(tempfile.mkdtemp(prefix="snm-dovecot-"))
        self.dir.chmod(0o755)
        self.root = self.dir / "root"  # snmctl apply --root: nothing is written outside
        self.state = self.root / "var" / "lib" / "snm"
        self.mail = self.root / "var" / "vmail"
        self.mail.mkdir(parents=True)
        os.chown(self.mail, VMAIL_UID, VMAIL_UID)
        self.hashes = hashes
        self.options = options  # top-level snm.toml lines
        self.snapshot = self.state / "accounts.cdb"
        try:
            self.apply()
        except BaseException:
            shutil.rmtree(self.dir, ignore_errors=True)
            raise
        self.dovecot = dovecot_support.PrivateDovecot(self.dir / "dovecot", self.snapshot,
                                                      settings={"auth_failure_delay": "0", **(settings or {})},
                                                      auth_blocks=auth_blocks)

    def apply(self, overrides=None):
        toml = self.dir / "snm.toml"
        toml.write_text(accounts_toml(self.hashes, overrides, self.options))
        snmtest.snmctl("apply", "-q", "-c", toml, "--root", self.root)

    def auth(self, user, password):
        """doveadm auth test: 'ok', 'failed' or 'tempfail'."""
        result = self.dovecot.doveadm("auth", "test", user, password, check=False)
        if result.returncode == 0:
            return "ok"
        return "tempfail" if "code=temp_fail" in result.stdout else "failed"

    def auth_pid(self):
        """Pid of the Dovecot auth process (a restart would change it)."""
        for pid in os.listdir("/proc"):
            if pid.isdigit():
                try:
                    cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
                    parent = int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[1])
                except (OSError, IndexError, ValueError):
                    continue
                if parent == self.dovecot.process.pid and cmdline[0].endswith(b"/auth"):
                    return int(pid)
        return None

    def close(self):
        self.dovecot.stop()
        shutil.rmtree(self.dir, ignore_errors=True)


@pytest.fixture
def site(hashes):
    s = Site(hashes)
    try:
        s.dovecot.start()
        yield s
    finally:
        s.close()


def snm_errors(log):
    return [line for line in log.splitlines() if "Error: snm:" in line]


def test_every_scheme_logs_in_and_wrong_or_unknown_fail(site):
    for user, (scheme, password) in PASSWORDS.items():
        assert site.auth(user, password) == "ok", f"{scheme} login of {user} failed:\n{site.dovecot.log()}"
        assert site.auth(user.upper(), password) == "ok", "login names are case-insensitive"
        assert site.auth(user, password + "x") == "failed"
    assert site.auth("nobody@example.com", "sha-secret") == "failed"
    # A passdb lookup without a password (lookup_credentials, as for a
    # master-user or a proxy lookup).
    assert site.dovecot.doveadm("auth", "lookup", "blf@example.com").returncode == 0
    unknown = site.dovecot.doveadm("auth", "lookup", "nobody@example.com", check=False)
    assert unknown.returncode == 67 and "doesn't exist" in unknown.stdout
    assert not snm_errors(site.dovecot.log())


def test_userdb_gives_home_mail_ids_quota_and_sieve(site):
    out = site.dovecot.doveadm("user", "sha@example.com").stdout
    fields = dict(line.split("\t", 1) for line in out.splitlines()[1:] if "\t" in line)
    home = f"{site.mail}/example.com/sha"
    assert fields["home"] == home
    assert fields["mail"] == f"maildir:{home}"
    assert fields["uid"] == str(VMAIL_UID) and fields["gid"] == str(VMAIL_UID)
    assert fields["quota_rule"] == "*:storage=2G"
    assert fields["sieve"].endswith("/sieve/sha@example.com/default.sieve")
    plain = dict(line.split("\t", 1) for line in
                 site.dovecot.doveadm("user", "blf@example.com").stdout.splitlines()[1:] if "\t" in line)
    assert "quota_rule" not in plain and "sieve" not in plain
    unknown = site.dovecot.doveadm("user", "nobody@example.com", check=False)
    assert unknown.returncode == 67 and "doesn't exist" in unknown.stdout


def test_user_iteration_lists_every_account(site):
    listed = site.dovecot.doveadm("user", "*").stdout.split()
    assert sorted(listed) == sorted(PASSWORDS)
    # doveadm -A runs a command for every user the userdb lists.
    mailboxes = site.dovecot.doveadm("mailbox", "list", "-A").stdout
    for user in PASSWORDS:
        assert user in mailboxes


def insecure_tls():
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    return context


def test_imap_and_pop3_login_over_starttls(site):
    user, (_, password) = "sha@example.com", PASSWORDS["sha@example.com"]
    with imaplib.IMAP4("127.0.0.1", site.dovecot.imap_port) as imap:
        imap.starttls(insecure_tls())
        assert imap.login(user, password)[0] == "OK"
        assert imap.select("INBOX")[0] == "OK"
        imap.logout()
    with imaplib.IMAP4("127.0.0.1", site.dovecot.imap_port) as imap:
        imap.starttls(insecure_tls())
        with pytest.raises(imaplib.IMAP4.error, match="AUTHENTICATIONFAILED"):
            imap.login(user, "wrong")
    pop = poplib.POP3("127.0.0.1", site.dovecot.pop3_port)
    try:
        pop.stls(insecure_tls())
        pop.user("blf@example.com")
        assert pop.pass_(PASSWORDS["blf@example.com"][1]).startswith(b"+OK")
        assert pop.stat() == (0, 0)
    finally:
        pop.quit()
    assert (site.mail / "example.com" / "sha").is_dir(), "the userdb's mail location was used"


def test_utf8_folder_names_reach_the_disk_in_utf8(hashes):
    """useUTF8FolderNames: the userdb's mail location carries Dovecot's
    :UTF-8, so a mailbox name is stored as UTF-8, not modified UTF-7."""
    s = Site(hashes, options=["useUTF8FolderNames = true"])
    try:
        s.dovecot.start()
        fields = dict(line.split("\t", 1) for line in
                      s.dovecot.doveadm("user", "sha@example.com").stdout.splitlines()[1:] if "\t" in line)
        assert fields["mail"] == f"maildir:{s.mail}/example.com/sha:UTF-8"
        s.dovecot.doveadm("mailbox", "create", "-u", "sha@example.com", "Größe")
        assert "Größe" in s.dovecot.doveadm("mailbox", "list", "-u", "sha@example.com").stdout
        assert (s.mail / "example.com" / "sha" / ".Größe").is_dir(), sorted(
            p.name for p in (s.mail / "example.com" / "sha").iterdir())
    finally:
        s.close()


def test_without_utf8_folder_names_dovecot_stores_modified_utf7(site):
    site.dovecot.doveadm("mailbox", "create", "-u", "sha@example.com", "Größe")
    assert (site.mail / "example.com" / "sha" / ".Gr&APYA3w-e").is_dir()


def wait_for_auth(site, user, password, expected):
    return snmtest.wait_until(lambda: site.auth(user, password) == expected, timeout=SETTLE_SECONDS,
                              interval=0.2, what=f"{user}/{password} → {expected}")


def test_changed_password_is_used_without_reloading_dovecot(site):
    user, (scheme, old) = "sha@example.com", PASSWORDS["sha@example.com"]
    assert site.auth(user, old) == "ok"
    auth_pid = site.auth_pid()
    assert auth_pid is not None
    site.apply({user: hashed(scheme, "new-secret")})
    wait_for_auth(site, user, "new-secret", "ok")
    assert site.auth(user, old) == "failed"
    assert site.auth_pid() == auth_pid, "the auth process was restarted"
    assert "SIGHUP" not in site.dovecot.log()


def test_with_auth_cache_a_changed_password_is_used(hashes):
    s = Site(hashes, settings={"auth_cache_size": "10M", "auth_cache_ttl": "1 hour"})
    try:
        s.dovecot.start()
        user, (scheme, old) = "argon@example.org", PASSWORDS["argon@example.org"]
        assert s.auth(user, old) == "ok"
        assert s.auth(user, old) == "ok"  # now answered from the cache
        s.apply({user: hashed(scheme, "new-secret")})
        wait_for_auth(s, user, old, "failed")
        assert s.auth(user, "new-secret") == "ok"
        assert "auth cache cleared" in s.dovecot.log()
    finally:
        s.close()


def test_broken_snapshot_fails_temporarily_logs_once_and_recovers(site):
    user, (_, password) = "blf@example.com", PASSWORDS["blf@example.com"]
    assert site.auth(user, password) == "ok"
    auth_pid = site.auth_pid()
    assert auth_pid is not None

    site.snapshot.unlink()
    wait_for_auth(site, user, password, "tempfail")
    assert site.auth(user, password) == "tempfail"
    assert site.dovecot.doveadm("user", user, check=False).returncode == 75  # EX_TEMPFAIL
    with imaplib.IMAP4("127.0.0.1", site.dovecot.imap_port) as imap:
        imap.starttls(insecure_tls())
        with pytest.raises(imaplib.IMAP4.error, match="UNAVAILABLE"):
            imap.login(user, password)
    missing = [line for line in snm_errors(site.dovecot.log()) if "missing" in line]
    assert len(missing) == 1, site.dovecot.log()
    assert str(site.snapshot) in missing[0] and "snmctl apply" in missing[0]

    corrupt = site.snapshot.with_name("accounts.cdb.new")
    corrupt.write_bytes(b"this is not a constant database" * 40)
    os.chown(corrupt, 0, grp.getgrnam("dovecot").gr_gid)  # readable as snmctl's would be
    corrupt.chmod(0o640)
    corrupt.rename(site.snapshot)
    snmtest.wait_until(lambda: any("not a constant database" in line for line in snm_errors(site.dovecot.log())),
                       timeout=SETTLE_SECONDS, what="the corrupt snapshot is reported")
    assert site.auth(user, password) == "tempfail"

    site.apply()
    wait_for_auth(site, user, password, "ok")
    assert site.dovecot.doveadm("user", user).returncode == 0
    assert site.auth_pid() == auth_pid, "the auth service died or was restarted"
    log = site.dovecot.log()
    assert len(snm_errors(log)) == 2, log
    assert re.search(r"auth: Info: snm: loaded snapshot .*accounts\.cdb", log.split("not a constant database")[-1])


def test_bad_args_stop_auth_naming_the_setting(hashes):
    s = Site(hashes)
    s.dovecot.auth_blocks = dovecot_support.PrivateDovecot.snm_auth_blocks(s.snapshot, passdb_args="cache=yes")
    try:
        s.dovecot.write_config()
        modules = dovecot_support.auth_module_dir(s.dovecot.workdir / "auth-modules")
        s.dovecot.process = dovecot_support.start_dovecot(s.dovecot.config_path, modules)
        snmtest.wait_for_port(s.dovecot.imap_port)

        def auth_died():  # Dovecot starts its auth service on first use
            s.dovecot.doveadm("auth", "test", "sha@example.com", "x", check=False)
            return "unknown setting 'cache'" in s.dovecot.log()
        snmtest.wait_until(auth_died, timeout=SETTLE_SECONDS, what="the configuration error in the log")
        assert re.search(r"auth: Fatal: passdb snm: unknown setting 'cache' in args", s.dovecot.log())
    finally:
        s.close()
