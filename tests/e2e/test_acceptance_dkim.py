"""DKIM end to end: mail leaving the sandbox (captured at its sink) carries a
valid signature per configured selector of the sender's domain — RSA and
Ed25519, relaxed and simple canonicalization, SNM's seed configuration with
its 1535-bit key — checked by python3-dkim and Mail::DKIM against the TXT
records `snmctl dkim dns` prints, served by a DNS server on loopback."""
import subprocess
from pathlib import Path

import pytest

import snmtest
from dkim_verify import mail_dkim_accepts, signatures, verify_with_mail_dkim, verify_with_python_dkim
from dns_stub import DnsStub, records_from_zone
from sandbox_support import Sandbox

DATA = Path(__file__).parent / "data"
OUTSIDE = "someone@elsewhere.example.org"


def published_records(sandbox):
    zone = snmtest.snmctl("dkim", "dns", "-c", sandbox.config, "--root", sandbox.dir).stdout
    return records_from_zone(zone)


def relayed_message(sandbox, subject):
    _, raw = sandbox.wait_for_sink(lambda m: subject.encode() in m[1])
    return raw


def assert_signed(sandbox, raw, expected):
    """`expected`: [(domain, selector, algorithm)] in any order. python3-dkim
    passes each; Mail::DKIM passes each RSA one (it has no Ed25519)."""
    assert sorted(signatures(raw)) == sorted(expected), signatures(raw)
    # The milter's folded DKIM-Signature lines arrive as whole lines: no bare
    # CR, and one line ending throughout (smtp-sink stores the lines it got).
    assert b"\r" not in raw.replace(b"\r\n", b""), raw[:2000]
    assert raw.count(b"\r\n") in (0, raw.count(b"\n")), raw[:2000]
    with DnsStub(published_records(sandbox)) as dns:
        assert verify_with_python_dkim(raw, dns.port) == [True] * len(expected)
        verdicts = verify_with_mail_dkim(raw, dns.port)
    assert sorted((v.domain, v.selector, v.algorithm) for v in verdicts) == sorted(expected), verdicts
    assert all(mail_dkim_accepts(v) for v in verdicts), verdicts


@pytest.mark.parametrize("login,password,sender,expected", [
    ("user1@example.com", "password1", "user1@example.com",
     [("example.com", "rsa2026", "rsa-sha256"), ("example.com", "ed2026", "ed25519-sha256")]),
    ("user2@example2.com", "password2", "user2@example2.com", [("example2.com", "mail", "rsa-sha256")]),
    ("user1@example.com", "password1", "someone@example3.com", [("example3.com", "mail", "rsa-sha256")]),
])
def test_mail_from_each_domain_leaves_with_valid_signatures(acceptance_sandbox, login, password, sender, expected):
    subject = acceptance_sandbox.submit(login, password, [OUTSIDE], sender=sender)
    assert_signed(acceptance_sandbox, relayed_message(acceptance_sandbox, subject), expected)


def test_mail_from_outside_unauthenticated_is_not_signed_and_the_reason_is_logged(acceptance_sandbox):
    sb = acceptance_sandbox
    msg = sb.message("user1@example.com", ["user3@example.com"])  # forwarded out to the sink
    with sb.smtp(source="127.0.0.2") as client:
        client.send_message(msg, from_addr="stranger@example.org")
    raw = relayed_message(sb, msg["Subject"])
    assert signatures(raw) == []
    assert "not signed" in sb.log("snm-dkim-milter.log")


def test_mail_from_an_internal_network_is_signed_without_auth(acceptance_sandbox):
    sb = acceptance_sandbox
    msg = sb.message("user1@example.com", [OUTSIDE])
    with sb.smtp(source="127.0.0.1") as client:
        client.send_message(msg)
    assert_signed(sb, relayed_message(sb, msg["Subject"]),
                  [("example.com", "rsa2026", "rsa-sha256"), ("example.com", "ed2026", "ed25519-sha256")])


def test_simple_canonicalization_signatures_verify(build_dir, tmp_path):
    text = (DATA / "acceptance.toml").read_text().replace(
        'certificateScheme = "selfsigned"',
        'certificateScheme = "selfsigned"\ndkimHeaderCanonicalization = "simple"\ndkimBodyCanonicalization = "simple"')
    config = tmp_path / "simple.toml"
    config.write_text(text)
    with Sandbox(config) as sb:
        subject = sb.submit("user1@example.com", "password1", [OUTSIDE],
                            body="Trailing  spaces  \n\n\nand blank lines\n\n\n")
        raw = relayed_message(sb, subject)
        assert b"c=simple/simple" in raw
        assert_signed(sb, raw, [("example.com", "rsa2026", "rsa-sha256"), ("example.com", "ed2026", "ed25519-sha256")])


def test_seed_config_signs_locally_submitted_mail_with_its_1535_bit_key(build_dir, tmp_path):
    """SNM's README example (its test suite uses a 1535-bit key); mail
    submitted locally with sendmail is signed (non_smtpd_milters)."""
    config = tmp_path / "seed.toml"
    config.write_text((snmtest.SOURCE_ROOT / "tests" / "data" / "seed-readme.toml").read_text()
                      .replace("virusScanning = false", "virusScanning = false\ndkimKeyBits = 1535"))
    with Sandbox(config) as sb:
        msg = sb.message("user1@example.com", [OUTSIDE])
        sendmail = subprocess.run(["sendmail", "-C", str(sb.dir / "etc" / "snm" / "postfix"), "-f",
                                   "user1@example.com", OUTSIDE], input=msg.as_bytes(), capture_output=True,
                                  timeout=30)
        assert sendmail.returncode == 0, sendmail.stderr
        raw = relayed_message(sb, msg["Subject"])
        assert_signed(sb, raw, [("example.com", "mail", "rsa-sha256")])
        zone = snmtest.snmctl("dkim", "dns", "-c", config, "--root", sb.dir).stdout
        assert "mail._domainkey.example.com." in zone


def test_rewritten_message_id_leaves_signed_and_helo_is_sending_fqdn(build_dir, tmp_path):
    """rewriteMessageId: the Message-ID a client submits leaves with the
    server's fqdn as its host part, and the signature over it verifies (the
    milter signs after Postfix's header_checks). sendingFqdn is the name in
    the HELO of the connection that relays it."""
    text = (DATA / "acceptance.toml").read_text().replace(
        'certificateScheme = "selfsigned"',
        'certificateScheme = "selfsigned"\nrewriteMessageId = true\nsendingFqdn = "out.example.net"')
    config = tmp_path / "rewrite.toml"
    config.write_text(text)
    with Sandbox(config) as sb:
        msg = sb.message("user1@example.com", [OUTSIDE], headers={"Message-ID": "<a1b2.c3@laptop.home.example.net>"})
        with sb.submission("user1@example.com", "password1") as client:
            client.send_message(msg)
        raw = relayed_message(sb, msg["Subject"])
        assert b"\nMessage-ID: <a1b2.c3@mail.example.com>" in raw.replace(b"\r\n", b"\n"), raw[:2000]
        assert b"laptop.home" not in raw
        assert_signed(sb, raw, [("example.com", "rsa2026", "rsa-sha256"), ("example.com", "ed2026", "ed25519-sha256")])
        # smtp-sink's own Received line names the HELO it was given.
        assert raw.startswith(b"Received: from out.example.net ("), raw[:400]
