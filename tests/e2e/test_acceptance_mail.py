"""SNM's acceptance checklist, end to end against `snmctl sandbox`: real
Postfix, Dovecot and snm's daemons, spoken to as a mail client would.

Accounts and addresses come from tests/e2e/data/acceptance.toml."""
import imaplib
import smtplib
import socket

import pytest

P1, P2, P3 = "password1", "password2", "password3"
USER1, USER2, USER3 = "user1@example.com", "user2@example2.com", "user3@example.com"


def rcpt_reply(sandbox, sender, recipient, port_name="smtp"):
    """(code, message) of RCPT TO on an unauthenticated session from a
    stranger (127.0.0.2 is outside the internal networks)."""
    with sandbox.smtp(port_name, source="127.0.0.2") as client:
        code, message = client.mail(sender)
        assert code == 250, message
        return client.rcpt(recipient)


# --- send and read ------------------------------------------------------------------

def test_send_and_read_over_imap_starttls_and_imaps(acceptance_sandbox):
    sb = acceptance_sandbox
    subject = sb.submit(USER1, P1, [USER2])
    msg = sb.wait_for_mail(USER2, P2, subject, port_name="imap")
    assert msg["From"] == USER1
    assert sb.find_mail(USER2, P2, subject, port_name="imaps") is not None


def test_send_and_read_over_pop3_starttls_and_pop3s(acceptance_sandbox):
    sb = acceptance_sandbox
    subject = sb.submit(USER1, P1, [USER3], port_name="submissions")
    sb.wait_for_mail(USER3, P3, subject)
    for port_name in ("pop3", "pop3s"):
        client = sb.pop3(USER3, P3, port_name)
        try:
            count, _ = client.stat()
            bodies = [b"\n".join(client.retr(i)[1]) for i in range(1, count + 1)]
        finally:
            client.quit()
        assert any(subject.encode() in body for body in bodies), port_name


def test_wrong_password_is_refused(acceptance_sandbox):
    with pytest.raises(smtplib.SMTPAuthenticationError):
        acceptance_sandbox.submission(USER1, "wrong password")


# --- aliases, catch-all, forwards ---------------------------------------------------------

@pytest.mark.parametrize("alias", ["info@example.com", "postmaster@example.com", "INFO@Example.COM"])
def test_alias_delivers_to_its_account(acceptance_sandbox, alias):
    subject = acceptance_sandbox.submit(USER2, P2, [alias])
    acceptance_sandbox.wait_for_mail(USER1, P1, subject)


def test_domain_alias_receives_the_whole_domain(acceptance_sandbox):
    subject = acceptance_sandbox.submit(USER2, P2, ["anyone@example3.com"])
    acceptance_sandbox.wait_for_mail(USER1, P1, subject)


def test_extra_virtual_alias_single_target(acceptance_sandbox):
    subject = acceptance_sandbox.submit(USER2, P2, ["abuse@example.com"])
    acceptance_sandbox.wait_for_mail(USER1, P1, subject)


def test_extra_virtual_alias_list_reaches_every_target(acceptance_sandbox):
    subject = acceptance_sandbox.submit(USER2, P2, ["team@example.com"])
    acceptance_sandbox.wait_for_mail(USER1, P1, subject)
    acceptance_sandbox.wait_for_mail(USER3, P3, subject)


def test_forward_on_an_account_keeps_the_local_copy(acceptance_sandbox):
    sb = acceptance_sandbox
    subject = sb.submit(USER2, P2, [USER3])
    sb.wait_for_mail(USER3, P3, subject)
    envelope, raw = sb.wait_for_sink(lambda m: subject.encode() in m[1])
    assert "<user3@elsewhere.example.org>" in envelope["rcpt"]


def test_forward_only_address_relays_out(acceptance_sandbox):
    sb = acceptance_sandbox
    subject = sb.submit(USER2, P2, ["old@example.com"])
    envelope, _ = sb.wait_for_sink(lambda m: subject.encode() in m[1])
    assert envelope["rcpt"] == ["<new@elsewhere.example.org>"]


def test_catch_all_delivers_unknown_local_parts(acceptance_sandbox):
    subject = acceptance_sandbox.submit(USER3, P3, ["whoever-xyz@example2.com"])
    acceptance_sandbox.wait_for_mail(USER1, P1, subject)


def test_catch_all_never_steals_mail_for_an_existing_address(acceptance_sandbox):
    sb = acceptance_sandbox
    subject = sb.submit(USER3, P3, [USER2])
    sb.wait_for_mail(USER2, P2, subject)
    assert sb.find_mail(USER1, P1, subject) is None


def test_catch_all_domain_cannot_be_used_as_sender(acceptance_sandbox):
    with pytest.raises(smtplib.SMTPRecipientsRefused) as refused:
        acceptance_sandbox.submit(USER1, P1, [USER2], sender="whoever@example2.com")
    code, message = refused.value.recipients[USER2]
    assert code >= 500 and b"not owned by user" in message


def test_send_only_account_refuses_inbound_mail_with_its_message(acceptance_sandbox):
    code, message = rcpt_reply(acceptance_sandbox, "someone@example.org", "noreply@example.com")
    assert code >= 500, message
    assert b"This account cannot receive emails." in message


def test_unknown_recipient_is_refused_at_rcpt(acceptance_sandbox):
    code, message = rcpt_reply(acceptance_sandbox, "someone@example.org", "nobody@example.com")
    assert code == 550, message


def test_reject_sender_for_unauthenticated_mail(acceptance_sandbox):
    for sender in ("bulk@spammer.example.net", "pest@example.org"):
        code, message = rcpt_reply(acceptance_sandbox, sender, USER1)
        assert code >= 500, (sender, message)


def test_reject_recipients_for_unauthenticated_mail(acceptance_sandbox):
    code, message = rcpt_reply(acceptance_sandbox, "someone@example.org", "sales@example.com")
    assert code >= 500, message


def test_reject_lists_do_not_apply_to_authenticated_users(acceptance_sandbox):
    subject = acceptance_sandbox.submit(USER1, P1, ["sales@example.com"])
    acceptance_sandbox.wait_for_mail("sales@example.com", P1, subject)


# --- sender ownership ------------------------------------------------------------------

@pytest.mark.parametrize("sender", [USER1, "info@example.com", "newsletter@example.com", "user1+tag@example.com",
                                    "abuse@example.com", "someone@example3.com"])
def test_user_may_send_as_own_address_alias_and_send_as(acceptance_sandbox, sender):
    subject = acceptance_sandbox.submit(USER1, P1, [USER2], sender=sender)
    acceptance_sandbox.wait_for_mail(USER2, P2, subject)


def test_sending_as_another_user_is_refused(acceptance_sandbox):
    with pytest.raises(smtplib.SMTPRecipientsRefused) as refused:
        acceptance_sandbox.submit(USER2, P2, [USER3], sender=USER1)
    code, message = refused.value.recipients[USER3]
    assert code >= 500
    assert b"not owned by user " + USER2.encode() in message


# --- relay and TLS ----------------------------------------------------------------------

def test_port_25_is_not_an_open_relay(acceptance_sandbox):
    code, message = rcpt_reply(acceptance_sandbox, "someone@example.org", "victim@elsewhere.example.org")
    assert code >= 500 and b"Relay access denied" in message


def test_submission_offers_no_auth_before_starttls(acceptance_sandbox):
    with acceptance_sandbox.smtp("submission") as client:
        assert not client.has_extn("auth")
        assert client.has_extn("starttls")


class IMAP4From(imaplib.IMAP4):
    """IMAP4 from another loopback address: Dovecot counts a connection from
    its own address as secure and would allow plaintext login."""

    def _create_socket(self, timeout):
        return socket.create_connection((self.host, self.port), timeout, source_address=("127.0.0.2", 0))


def test_imap_refuses_login_before_starttls(acceptance_sandbox):
    client = IMAP4From("127.0.0.1", acceptance_sandbox.port("imap"), timeout=30)
    try:
        assert "LOGINDISABLED" in client.capabilities
        with pytest.raises(imaplib.IMAP4.error):
            client.login(USER1, P1)
    finally:
        client.shutdown()


# --- quota and detail delivery -------------------------------------------------------------

def test_quota_refuses_at_rcpt_and_loses_nothing_for_others(acceptance_sandbox):
    sb = acceptance_sandbox
    msg = sb.message(USER1, ["tiny@example.com", USER2], body="x" * 4000 + "\n")
    with sb.submission(USER1, P1) as client:
        refused = client.send_message(msg)
    code, message = refused["tiny@example.com"]
    assert code in (452, 552), message
    assert USER2 not in refused
    sb.wait_for_mail(USER2, P2, msg["Subject"])


def test_detail_address_lands_in_the_detail_mailbox(acceptance_sandbox):
    subject = acceptance_sandbox.submit(USER2, P2, ["user1+lists@example.com"])
    acceptance_sandbox.wait_for_mail(USER1, P1, subject, mailbox="lists")
