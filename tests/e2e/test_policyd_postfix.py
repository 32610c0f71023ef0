"""snm-policyd behind the Postfix snm renders, run privately: mail goes
where SNM sends it (account, alias, forward with local and external copy,
catch-all, a real address under a catch-all domain), unknown recipients get
550 at RCPT, a send-only account refuses mail with its message, and an
authenticated submission may send as its own alias but not as someone
else's address. The Postfix runs the rendered restrictions unchanged.

Postfix's virtual_transport (LMTP, rendered for Dovecot) reaches an LMTP
smtp-sink (local deliveries), its relayhost another sink (external mail);
SASL and quota-status are a private Dovecot with a passwd-file. Nothing
leaves 127.0.0.1."""
import smtplib
import uuid

import pytest

import policyd_support as ps
import snmtest

# The example config, with an existing address on rejectRecipients (an
# unknown one is refused earlier, as unknown), and no internal network on
# loopback: the tests' clients stand for the Internet.
EXAMPLE = 'dkim.internalNetworks = [ "192.0.2.0/24" ]\n' + (
    snmtest.SOURCE_ROOT / "contrib" / "examples" / "snm.toml").read_text().replace(
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
        sockets = ps.rendered_sockets(workdir)
        policyd = ps.Policyd(state, workdir, sockets=sockets)
        started.append(policyd)
        dovecot = ps.DovecotForPostfix(workdir, PASSWORDS, sockets["sasl"], sockets["quota_status"])
        started.append(dovecot)
        local = ps.Sink(workdir, "local-sink", lmtp_socket=sockets["lmtp"])
        started.append(local)
        relay = ps.Sink(workdir, "relay-sink")
        started.append(relay)
        postfix = ps.Postfix(workdir, workdir, relay)
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
    """The reply to RCPT TO (after MAIL FROM), with an optional SASL login
    (after STARTTLS, as the rendered submission service requires)."""
    with smtplib.SMTP("127.0.0.1", port or stack["postfix"].smtp_port, timeout=30) as smtp:
        smtp.ehlo("client.policyd-test.invalid")
        if login:
            smtp.starttls()
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
        smtp.starttls()
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


def postconf_settings(config_dir, option):
    """What `postconf -c config_dir OPTION` prints (-n, -F, -P), as a dict;
    -n's config_directory is only where the file was read from."""
    settings = dict(line.split(" = ", 1) if " = " in line else (line.rstrip(" ="), "")
                    for line in ps.postconf(config_dir, option).splitlines())
    settings.pop("config_directory", None)
    return settings


def master_cf(config_dir, renamed=None):
    """master.cf's fields (the command without its -o options) and -o
    options, keyed by service name; `renamed` maps a name back to another."""
    def key(entry):
        service, rest = entry.split("/", 1)
        return f"{(renamed or {}).get(service, service)}/{rest}"
    fields = {key(k): v.split(" -o ")[0] if k.endswith("/command") else v
              for k, v in postconf_settings(config_dir, "-F").items()}
    return fields | {key(k): v for k, v in postconf_settings(config_dir, "-P").items()}


def differing(rendered, running):
    """The names whose values differ, or that only one side sets."""
    return {name for name in rendered.keys() | running.keys() if rendered.get(name) != running.get(name)}


def test_postfix_runs_the_rendered_restrictions(stack):
    """The Postfix above differs from what snm rendered only where a private
    instance must: no restriction, policy service or map is changed or
    missing, and each service keeps its fields and -o options (its listener
    and milters aside)."""
    postfix = stack["postfix"]
    rendered = postconf_settings(postfix.rendered_dir, "-n")
    changed = differing(rendered, postconf_settings(postfix.config_dir, "-n"))
    restrictions = {name for name in rendered if name.endswith("_restrictions") or name.startswith("snm_")}
    assert {"smtpd_recipient_restrictions", "smtpd_sender_restrictions", "smtpd_relay_restrictions",
            "snm_sender_policy", "snm_recipient_policy"} <= restrictions
    assert not changed & restrictions
    assert changed == set(postfix.main_cf_changes)

    rendered = master_cf(postfix.rendered_dir)
    changed = differing(rendered, master_cf(postfix.config_dir,
                                            {listener: service for service, listener in postfix.services.items()}))
    assert {"submission/inet/smtpd_sender_restrictions", "submission/inet/smtpd_recipient_restrictions"} <= set(rendered)
    assert changed == {f"{service}/inet/{name}" for service in postfix.services for name in ("service", "smtpd_milters")}
