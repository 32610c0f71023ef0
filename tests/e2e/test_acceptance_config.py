"""Acceptance tests that need their own sandbox: switches turned off, and a
changed snm.toml taken live by a running server."""
import socket
import threading
import time
from pathlib import Path

import pytest

import snmtest
from sandbox_support import Sandbox

DATA = Path(__file__).parent / "data"


def with_settings(tmp_path, name, replacements):
    """acceptance.toml with `replacements` ({old line: new line}) applied."""
    text = (DATA / "acceptance.toml").read_text()
    for old, new in replacements.items():
        assert old in text, old
        text = text.replace(old, new)
    path = tmp_path / name
    path.write_text(text)
    return path


def port_closed(port):
    with socket.socket() as s:
        s.settimeout(2)
        return s.connect_ex(("127.0.0.1", port)) != 0


def test_disabled_protocols_are_closed_and_detail_delivery_off(build_dir, tmp_path):
    config = with_settings(tmp_path, "off.toml", {
        "enableImapSsl = true": "enableImapSsl = false",
        "enablePop3 = true": "enablePop3 = false",
        "enablePop3Ssl = true": "enablePop3Ssl = false",
        "enableSubmissionSsl = true": "enableSubmissionSsl = false",
        'lmtpSaveToDetailMailbox = "yes"': 'lmtpSaveToDetailMailbox = "no"',
    })
    with Sandbox(config) as sb:
        for name in ("imaps", "pop3", "pop3s", "submissions"):
            assert port_closed(sb.port(name)), f"{name} port {sb.port(name)} is open"
        for name in ("smtp", "submission", "imap"):
            assert not port_closed(sb.port(name)), name
        subject = sb.submit("user2@example2.com", "password2", ["user1+lists@example.com"])
        sb.wait_for_mail("user1@example.com", "password1", subject, mailbox="INBOX")


def test_apply_takes_effect_live_without_restarts_or_lost_mail(build_dir, tmp_path):
    with Sandbox(DATA / "acceptance.toml") as sb:
        before = sb.pids()
        hash_of_password1 = (DATA / "acceptance.toml").read_text().split('hashedPassword = "')[1].split('"')[0]
        changed = with_settings(tmp_path, "changed.toml", {
            'domains = [ "example.com", "example2.com", "example3.com" ]':
                'domains = [ "example.com", "example2.com", "example3.com", "example4.com" ]',
            '[loginAccounts."user3@example.com"]\n':
                '[loginAccounts."user3@example.com"]\naliases = [ "helpdesk@example.com" ]\n',
        })
        changed.write_text(changed.read_text() +
                           f'\n[loginAccounts."user4@example4.com"]\nhashedPassword = "{hash_of_password1}"\n')

        # Mail keeps flowing while the configuration changes under it.
        sent, errors = [], []

        def keep_sending():
            for _ in range(15):
                try:
                    sent.append(sb.submit("user1@example.com", "password1", ["user2@example2.com"]))
                except Exception as error:  # a failure here is the finding
                    errors.append(repr(error))
                time.sleep(0.05)

        sender = threading.Thread(target=keep_sending)
        sender.start()
        time.sleep(0.2)
        applied = sb.apply(changed)
        sender.join()
        assert applied.returncode == 0, applied.stderr
        assert not errors, errors

        time.sleep(1.2)  # snapshots are checked at most once a second
        subject = sb.submit("user2@example2.com", "password2", ["helpdesk@example.com", "user4@example4.com"])
        sb.wait_for_mail("user3@example.com", "password3", subject)
        sb.wait_for_mail("user4@example4.com", "password1", subject)

        for subject in sent:
            sb.wait_for_mail("user2@example2.com", "password2", subject)
        assert sb.pids() == before, "a process was restarted"
        for name, pid in before.items():
            assert snmtest.run(["kill", "-0", str(pid)], check=False).returncode == 0, f"{name} died"
