"""snm-policyd behind a real, private Postfix: mail goes where SNM sends it
(account, alias, forward with local and external copy, catch-all, a real
address under a catch-all domain), unknown recipients get 550 at RCPT, a
send-only account refuses mail with its message, and an authenticated
submission may send as its own alias but not as someone else's address.

Postfix's virtual_transport goes to one smtp-sink (local deliveries), its
relayhost to another (external mail); SASL is a private Dovecot auth with a
passwd-file. Nothing leaves 127.0.0.1."""
import smtplib
import uuid

import pytest

import policyd_support as ps
import snmtest

# The example config, with an existing address on rejectRecipients (an
# unknown one is refused earlier, as unknown).
EXAMPLE = (snmtest.SOURCE_ROOT / "contrib" / "examples" / "snm.toml").read_text().replace(
    'rejectRecipients = [ "sales@example.com" ]', 'rejectRecipients = [ "sales@example.com", "postmaster@example2.com" ]')
# From the example's header comment.
PASSWORDS = {"user1@example.com": "password1", "user2@example2.com": "password2", "user3@example.com": "password3"}


@pytest.fixture(scope="module")
def stack(tmp_path_factory):
    if not snmtest.SNMCTL.exists():
        pytest.fail(f"{snmtest.SNMCTL} is missing: build first, or set SNM_BUILD_DIR")
    workdir = tmp_path_factory.mktemp("policyd-postfix")
    ps.open_to_daemons(workdir)
    started = []
    try:
        state = ps.apply_config(EXAMPLE, workdir)
        policyd = ps.Policyd(state, workdir)
        started.append(policyd)
        local = ps.Sink(workdir, "local-sink")
        started.append(local)
        relay = ps.Sink(workdir, "relay-sink")
        started.append(relay)
        auth = ps.DovecotAuth(workdir, PASSWORDS)
        started.append(auth)
        postfix = ps.Postfix(workdir, policyd, local, relay, auth.socket)
        started.append(postfix)
        yield {"postfix": postfix, "local": local, "relay": relay, "policyd": policyd}
    finally:
        for process in reversed(started):
            process.stop()


def message(token, sender, recipient):
    return (f"From: <{sender}>\r\nTo: <{recipient}>\r\nSubject: {token}\r\n"
            f"Message-ID: <{token}@policyd-test.invalid>\r\n\r\n{token}\r\n")


def send_inbound(stack, sender, recipient):
    """Mail from the Internet to port 25; returns the token to look for."""
    token = uuid.uuid4().hex
    with smtplib.SMTP("127.0.0.1", stack["postfix"].smtp_port, timeout=30) as smtp:
        smtp.sendmail(sender, [recipient], message(token, sender, recipient))
    return token


def rcpt_reply(stack, sender, recipient, port=None, login=None):
    """The reply to RCPT TO (after MAIL FROM), with an optional SASL login."""
    with smtplib.SMTP("127.0.0.1", port or stack["postfix"].smtp_port, timeout=30) as smtp:
        smtp.ehlo("client.policyd-test.invalid")
        if login:
            smtp.login(login, PASSWORDS[login])
        code, text = smtp.mail(sender)
        if code != 250:
            return code, text.decode()
        code, text = smtp.rcpt(recipient)
        return code, text.decode()


def test_mail_to_an_account_is_delivered_locally(stack):
    token = send_inbound(stack, "friend@elsewhere.example.org", "user1@example.com")
    assert stack["local"].wait_for(token) == ["user1@example.com"]


def test_mail_to_an_alias_reaches_its_account(stack):
    token = send_inbound(stack, "friend@elsewhere.example.org", "info@example.com")
    assert stack["local"].wait_for(token) == ["user1@example.com"]


def test_a_forward_keeps_the_local_copy_and_sends_an_external_one(stack):
    token = send_inbound(stack, "friend@elsewhere.example.org", "user3@example.com")
    assert stack["local"].wait_for(token) == ["user3@example.com"]
    assert stack["relay"].wait_for(token) == ["user3@elsewhere.example.org"]


def test_catch_all_takes_unknown_addresses_but_not_existing_ones(stack):
    token = send_inbound(stack, "friend@elsewhere.example.org", "whatever@example2.com")
    assert stack["local"].wait_for(token) == ["user1@example.com"]
    token = send_inbound(stack, "friend@elsewhere.example.org", "user2@example2.com")
    assert stack["local"].wait_for(token) == ["user2@example2.com"]


def test_unknown_recipient_is_refused_at_rcpt_with_550(stack):
    code, text = rcpt_reply(stack, "friend@elsewhere.example.org", "nobody@example.com")
    assert code == 550, text
    assert "nobody@example.com" in text


def test_a_send_only_account_refuses_inbound_mail_with_its_message(stack):
    code, text = rcpt_reply(stack, "friend@elsewhere.example.org", "noreply@example.com")
    assert code == 554, text
    assert "This account cannot receive emails." in text


def test_reject_recipients_and_reject_sender_for_unauthenticated_mail(stack):
    assert "postmaster@example2.com" in EXAMPLE
    code, text = rcpt_reply(stack, "friend@elsewhere.example.org", "postmaster@example2.com")
    assert code == 554 and "Recipient address rejected" in text, text
    code, text = rcpt_reply(stack, "bot@spammer.example.net", "user1@example.com")
    assert code == 554 and "Sender address rejected" in text, text


def test_submission_as_someone_elses_address_is_refused(stack):
    code, text = rcpt_reply(stack, "user1@example.com", "friend@elsewhere.example.org",
                            port=stack["postfix"].submission_port, login="user2@example2.com")
    assert code == 553, text
    assert "Sender address rejected: not owned by user user2@example2.com" in text


def test_submission_as_own_alias_is_accepted_and_relayed(stack):
    token = uuid.uuid4().hex
    with smtplib.SMTP("127.0.0.1", stack["postfix"].submission_port, timeout=30) as smtp:
        smtp.login("user1@example.com", PASSWORDS["user1@example.com"])
        smtp.sendmail("info@example.com", ["friend@elsewhere.example.org"],
                      message(token, "info@example.com", "friend@elsewhere.example.org"))
    assert stack["relay"].wait_for(token) == ["friend@elsewhere.example.org"]


def test_postfix_sees_the_answers_the_model_gives(stack):
    policyd, config = stack["policyd"], stack["postfix"].config_dir
    assert ps.postmap_query("user3@example.com", policyd.postfix_table("aliases"), config) == \
        "user3@example.com,user3@elsewhere.example.org"
    assert ps.postmap_query("whatever@example2.com", policyd.postfix_table("aliases"), config) == "user1@example.com"
    assert ps.postmap_query("user2@example2.com", policyd.postfix_table("aliases"), config) is None
    assert ps.postmap_query("info@example.com", policyd.postfix_table("senders"), config) == "user1@example.com"
    # Every decision above was made by snm-policyd, one log line each.
    assert "not owned by user user2@example2.com" in policyd.log()
