"""snm installed from its Debian packages into a fresh Debian 12 root, with
the distribution's own Postfix, Dovecot, rspamd and Redis, each started as
its installed unit says by the root's own systemd: the mail flow an
administrator gets (issue 16).

One server for the module (debian_server.py), brought up once; the tests
run in file order against it and need root, mmdebstrap, and deb.debian.org
the first time the root is built. See debian_server.py for how to run it
against prebuilt .debs (SNM_DEB_DIR).
"""
import base64
import time
import uuid

import pytest

from debian_server import CONFIG_PATH, DOMAIN, DebianServer
from dkim_verify import mail_dkim_accepts, signatures, verify_with_mail_dkim, verify_with_python_dkim
from dns_stub import DnsStub, records_from_zone
from timing import phase

SENDER, RECIPIENT = "user1@example.com", "user2@example.com"
# Seconds for a submitted message to reach the INBOX, and for a changed
# password to be in force (the auth module checks its snapshot once a second).
DELIVERY_TIMEOUT = 30
PASSWORD_CHANGE_TIMEOUT = 10
OUR_PACKAGES = ("snm", "snm-dkim-milter", "snm-policyd", "dovecot-snm")
# Least privilege (issue 16): each daemon as its own unprivileged user.
DAEMON_USERS = {"snm-dkim-milter.service": "snm-dkim", "snm-policyd.service": "snm-policyd",
                "redis-server.service": "redis", "rspamd.service": "_rspamd"}


@pytest.fixture(scope="module")
def server():
    server = DebianServer()
    try:
        server.bring_up()
    except BaseException:
        print(server.diagnostics())
        server.close()
        raise
    yield server
    server.close()


def test_packages_installed_without_network(server):
    server.assert_loopback_only()
    installed = server.namespace.run(["dpkg-query", "-W", "-f", "${Package} ${db:Status-Abbrev}\n",
                                      *OUR_PACKAGES]).stdout
    assert sorted(installed.split("\n")[:-1]) == sorted(f"{p} ii " for p in OUR_PACKAGES), installed


def test_daemons_run_as_their_own_users(server):
    users = {line.split(":")[2]: line.split(":")[0]
             for line in server.namespace.path("/etc/passwd").read_text().splitlines()}
    for unit, user in DAEMON_USERS.items():
        pid, _ = server.services[unit]
        status = open(f"/proc/{pid}/status").read()
        uid = next(line for line in status.splitlines() if line.startswith("Uid:")).split()[2]  # effective
        assert users.get(uid) == user, f"{unit}: pid {pid} runs as {users.get(uid, uid)}, not {user}"


def test_submitted_mail_arrives_dkim_signed(server):
    subject = f"install test {uuid.uuid4().hex[:12]}"
    with phase("submit on 587 and read back over IMAP"):
        sent = server.client("submit", SENDER, server.passwords[SENDER], RECIPIENT, subject)
        assert sent["accepted"], sent
        found = server.client("fetch", RECIPIENT, server.passwords[RECIPIENT], subject, str(DELIVERY_TIMEOUT))
    assert found["message"], f"'{subject}' not in {RECIPIENT}'s INBOX after {DELIVERY_TIMEOUT}s"
    raw = base64.b64decode(found["message"])
    signed = signatures(raw)
    assert [s for s in signed if s[0] == DOMAIN], f"no DKIM-Signature of {DOMAIN}: {signed}\n{raw[:2000]!r}"
    zone = server.snmctl("dkim", "dns", "-c", CONFIG_PATH).stdout
    with DnsStub(records_from_zone(zone)) as dns:
        assert verify_with_python_dkim(raw, dns.port) == [True] * len(signed), (signed, zone)
        verdicts = verify_with_mail_dkim(raw, dns.port)
        assert all(mail_dkim_accepts(v) for v in verdicts), verdicts


def test_changed_password_is_live_without_restart(server):
    before = server.main_processes()
    old, new = server.passwords[RECIPIENT], "second secret 2"
    assert server.client("imap-login", RECIPIENT, old)["ok"]
    with phase("change a password and snmctl apply"):
        server.change_password(RECIPIENT, new)
        server.admin("snmctl-apply-2", ["snmctl", "apply", "-c", CONFIG_PATH])
        deadline = time.monotonic() + PASSWORD_CHANGE_TIMEOUT
        while not server.client("imap-login", RECIPIENT, new)["ok"] and time.monotonic() < deadline:
            time.sleep(0.2)
    assert server.client("imap-login", RECIPIENT, new)["ok"], "the new password is refused over IMAP"
    assert server.client("smtp-auth", RECIPIENT, new)["ok"], "the new password is refused on submission"
    refused_imap = server.client("imap-login", RECIPIENT, old)
    refused_smtp = server.client("smtp-auth", RECIPIENT, old)
    assert not refused_imap["ok"], "the old password still logs in over IMAP"
    assert not refused_smtp["ok"] and refused_smtp["reply"].startswith("535"), refused_smtp
    server.assert_services_running()
    assert server.main_processes() == before, "a service was restarted"


def test_dry_run_of_unchanged_config_reports_no_change(server):
    with phase("snmctl apply --dry-run"):
        result = server.snmctl("apply", "--dry-run", "-c", CONFIG_PATH)
    lines = result.stdout.splitlines()
    assert any("no change" in line for line in lines), result.stdout
    assert not [line for line in lines if line.startswith(("--- ", "+++ "))], result.stdout
