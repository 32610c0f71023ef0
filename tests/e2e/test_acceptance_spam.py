"""Spam, viruses and sieve end to end in the sandbox: rspamd's test
patterns (sandbox only) for spam headers and rejects, the global sieve
script filing spam into Junk after a user's own script, spam/ham learning
on IMAP moves through snm's Pigeonhole plugin, EICAR rejected by clamd when
virusScanning is on, ManageSieve, and sieve scripts checked at apply."""
import smtplib
import time
from pathlib import Path

import pytest

import snmtest
from rspamd_support import controller_request
from sandbox_support import Sandbox
from test_sieve_learning import make_message

DATA = Path(__file__).parent / "data"
USER1, P1 = "user1@example.com", "password1"
USER3, P3 = "user3@example.com", "password3"
GTUBE = "XJS*C4JDBQADN1.NSBN3*2IDNEN*GTUBE-STANDARD-ANTI-UBE-TEST-EMAIL*C.34X"
# rspamd's test pattern for "add header" (enable_test_patterns).
GTUBE_ADD_HEADER = "YJS" + GTUBE[3:]
EICAR = rb"X5O!P%@AP[4\PZX54(P^)7CC)7}$EICAR-STANDARD-ANTIVIRUS-TEST-FILE!$H+H*"


def deliver(sandbox, recipient, subject, body):
    """Unauthenticated mail from a stranger (127.0.0.2) on port 25."""
    msg = sandbox.message("sender@example.org", [recipient], subject=subject, body=body)
    with sandbox.smtp(source="127.0.0.2") as client:
        client.send_message(msg)
    return msg["Subject"]


def with_eicar(sandbox, recipient):
    """An otherwise unremarkable message (so rspamd does not score it as
    spam) with the EICAR test file attached."""
    msg = sandbox.message("sender@example.org", [recipient], body="The figures you asked for are attached.\n")
    msg.add_attachment(EICAR, maintype="application", subtype="octet-stream", filename="figures.dat")
    return msg


def learned(sandbox):
    socket_path = sandbox.dir / "var" / "lib" / "snm-rspamd" / "run" / "controller.sock"
    status, stat = controller_request(socket_path, "GET", "/stat")
    assert status == 200, stat
    return stat["learned"]


def test_spam_with_the_add_header_pattern_is_filed_into_junk(acceptance_sandbox):
    subject = deliver(acceptance_sandbox, USER1, None, GTUBE_ADD_HEADER + "\n")
    msg = acceptance_sandbox.wait_for_mail(USER1, P1, subject, mailbox="Junk")
    assert msg["X-Spam"] == "Yes"
    assert acceptance_sandbox.find_mail(USER1, P1, subject, mailbox="INBOX") is None


def test_the_reject_pattern_is_refused_at_end_of_data(acceptance_sandbox):
    with pytest.raises(smtplib.SMTPDataError) as refused:
        deliver(acceptance_sandbox, USER1, None, GTUBE + "\n")
    assert refused.value.smtp_code == 554 and refused.value.smtp_error.startswith(b"5.7.1")


def test_clean_mail_arrives_in_the_inbox(acceptance_sandbox):
    subject = deliver(acceptance_sandbox, USER1, None, "Lunch on Friday? The usual place at noon.\n")
    msg = acceptance_sandbox.wait_for_mail(USER1, P1, subject, mailbox="INBOX")
    assert msg["X-Spam"] is None


def test_a_users_sieve_script_runs_before_the_global_spam_rule(acceptance_sandbox):
    sb = acceptance_sandbox
    filed = deliver(sb, USER3, "project plans", "Plans for the new project.\n")
    sb.wait_for_mail(USER3, P3, filed, mailbox="Projects")
    spam = deliver(sb, USER3, "nothing to do with it", GTUBE_ADD_HEADER + "\n")
    sb.wait_for_mail(USER3, P3, spam, mailbox="Junk")


def test_moving_mail_into_and_out_of_junk_teaches_rspamd(acceptance_sandbox):
    sb = acceptance_sandbox
    imap = sb.imap(USER1, P1)
    try:
        def move(message_id, source, destination):
            imap.select(f'"{source}"')
            _, found = imap.uid("SEARCH", None, "HEADER", "Message-ID", message_id)
            uid = found[0].split()[-1]
            assert imap.uid("MOVE", uid, f'"{destination}"')[0] == "OK"

        message_id, raw = make_message("quarterly figures")
        assert imap.append("INBOX", None, None, raw)[0] == "OK"
        before = learned(sb)
        move(message_id, "INBOX", "Junk")            # spam
        snmtest.wait_until(lambda: learned(sb) == before + 1, what="one more learned message (spam)")
        move(message_id, "Junk", "INBOX")            # ham
        snmtest.wait_until(lambda: learned(sb) >= before + 1 and "learn ham" in sb.log("dovecot.log"),
                           what="the ham learn")
        after_ham = learned(sb)
        move(message_id, "INBOX", "Junk")
        snmtest.wait_until(lambda: sb.log("dovecot.log").count("learn spam") >= 2, what="the second spam learn")
        settled = learned(sb)
        imap.create('"Trash"')  # SNM's Trash is not auto-created; a client creates it
        move(message_id, "Junk", "Trash")            # deleting spam teaches nothing
        time.sleep(1.5)
        assert learned(sb) == settled
        assert after_ham >= before + 1
    finally:
        imap.logout()


def test_eicar_is_accepted_without_virus_scanning(acceptance_sandbox):
    msg = with_eicar(acceptance_sandbox, USER1)
    with acceptance_sandbox.smtp(source="127.0.0.2") as client:
        client.send_message(msg)
    acceptance_sandbox.wait_for_mail(USER1, P1, msg["Subject"])


def test_eicar_is_rejected_with_virus_scanning(build_dir, tmp_path):
    config = tmp_path / "virus.toml"
    config.write_text((DATA / "acceptance.toml").read_text().replace(
        'certificateScheme = "selfsigned"', 'certificateScheme = "selfsigned"\nvirusScanning = true'))
    with Sandbox(config) as sb:
        with pytest.raises(smtplib.SMTPDataError) as refused:
            with sb.smtp(source="127.0.0.2") as client:
                client.send_message(with_eicar(sb, USER1))
        assert refused.value.smtp_code == 554 and refused.value.smtp_error.startswith(b"5.7.1")
        assert b"virus" in refused.value.smtp_error.lower()


def test_managesieve_answers_on_its_port(acceptance_sandbox):
    import socket
    with socket.create_connection(("127.0.0.1", acceptance_sandbox.port("managesieve")), timeout=10) as s:
        greeting = s.recv(4096)
    assert b'"IMPLEMENTATION"' in greeting and b"OK" in greeting


def test_a_sieve_script_that_does_not_compile_fails_apply_and_changes_nothing(build_dir, tmp_path):
    config = tmp_path / "bad-sieve.toml"
    config.write_text((DATA / "acceptance.toml").read_text().replace(
        'if header :contains "subject" "project" {', 'if header :frobnicate "subject" "project" {'))
    result = snmtest.snmctl("apply", "-c", config, "--root", tmp_path / "root", check=False)
    assert result.returncode == 1
    assert "the sieveScript of login account user3@example.com does not compile" in result.stderr
    assert "nothing was changed" in result.stderr
    assert not (tmp_path / "root" / "var" / "lib" / "snm" / "accounts.cdb").exists()
