"""snm-dkim-milter driven by miltertest: every signature it makes verifies
with python3-dkim and Mail::DKIM, resolving the TXT records `snmctl dkim dns`
printed through a DNS server on 127.0.0.1; and the mail it must not sign is
passed unsigned with the reason logged."""
import pytest

import dkim_verify as dv
import milter_support as ms

CONFIG = """
fqdn = "mail.example.com"
domains = [ "example.com", "rsa1024.example.net", "rsa1535.example.net", "rsa4096.example.net", "ed.example.net" ]
dkimHeaderCanonicalization = "{header}"
dkimBodyCanonicalization = "{body}"

[dkim]
internalNetworks = [ "10.0.0.0/8", "2001:db8::/32" ]

[dkim.domains."example.com"]
selectors = [ {{ name = "rsa2048", algorithm = "rsa", keyLength = 2048 }}, {{ name = "ed", algorithm = "ed25519" }} ]
[dkim.domains."rsa1024.example.net"]
selectors = [ {{ name = "k", algorithm = "rsa", keyLength = 1024 }} ]
[dkim.domains."rsa1535.example.net"]
selectors = [ {{ name = "k", algorithm = "rsa", keyLength = 1535 }} ]
[dkim.domains."rsa4096.example.net"]
selectors = [ {{ name = "k", algorithm = "rsa", keyLength = 4096 }} ]
[dkim.domains."ed.example.net"]
selectors = [ {{ name = "k", algorithm = "ed25519" }} ]
"""

CANONICALIZATIONS = [("relaxed", "relaxed"), ("simple", "simple"), ("relaxed", "simple"), ("simple", "relaxed")]


@pytest.fixture(scope="module", params=CANONICALIZATIONS, ids=lambda c: f"{c[0]}-{c[1]}")
def milter(request, tmp_path_factory, build_dir):
    header, body = request.param
    setup = ms.MilterSetup(tmp_path_factory.mktemp(f"milter-{header}-{body}"), CONFIG.format(header=header, body=body))
    yield setup
    setup.close()


def headers_from(address, extra=()):
    return [
        ("Received", " from client.example.net by mail.example.com; Tue, 1 Apr 2025 10:00:00 +0000"),
        ("From", f" Sender Name <{address}>"),
        ("To", " Someone <someone@example.org>"),
        ("Subject", " A test message"),
        ("Date", " Tue, 1 Apr 2025 10:00:00 +0000"),
        ("Message-ID", " <test.1@example.com>"),
        ("MIME-Version", " 1.0"),
        ("Content-Type", " text/plain; charset=utf-8"),
        *extra,
    ]


def sign_and_verify(milter, tmp_path, headers, body, expected_signatures, driver=ms.miltertest_sign, **kwargs):
    reply, signatures = driver(milter, headers, body, **kwargs)
    assert reply == "c", milter.log()
    assert len(signatures) == expected_signatures, milter.log()
    message = ms.assemble(signatures, headers, body)
    assert dv.verify_with_python_dkim(message, milter.dns.port) == [True] * expected_signatures
    verdicts = dv.verify_with_mail_dkim(message, milter.dns.port)
    assert [(v.domain, v.selector, v.algorithm) for v in verdicts] == dv.signatures(message), verdicts
    assert all(dv.mail_dkim_accepts(v) for v in verdicts), verdicts
    return signatures


@pytest.mark.parametrize("domain,algorithm", [
    ("rsa1024.example.net", "rsa-sha256"),
    ("rsa1535.example.net", "rsa-sha256"),
    ("rsa4096.example.net", "rsa-sha256"),
    ("ed.example.net", "ed25519-sha256"),
])
def test_each_key_size_and_algorithm_verifies(milter, tmp_path, domain, algorithm):
    # miltertest overflows a fixed buffer on the ≈1 KB field of an RSA-4096
    # signature (Postfix does not): that size goes through our Postfix-like client.
    driver = ms.client_sign if "4096" in domain else ms.miltertest_sign
    signatures = sign_and_verify(milter, tmp_path, headers_from(f"user@{domain}"), b"Hello.\r\n", 1, driver=driver)
    assert f"a={algorithm};" in signatures[0] and f"d={domain};" in signatures[0]


def test_two_selectors_give_two_signatures_that_both_verify(milter, tmp_path):
    signatures = sign_and_verify(milter, tmp_path, headers_from("user1@example.com"), b"Two signatures.\r\n", 2)
    assert sorted(s.split("s=")[1].split(";")[0] for s in signatures) == ["ed", "rsa2048"]


def test_signature_oversigns_and_has_timestamp_but_no_length(milter, tmp_path):
    signature = sign_and_verify(milter, tmp_path, headers_from("user1@example.com"), b"x\r\n", 2)[0]
    flat = signature.replace("\n", "").replace("\t", "").replace(" ", "")
    h = flat.split(";h=")[1].split(";")[0].split(":")
    for name in ("from", "to", "subject", "date", "message-id", "mime-version", "content-type", "cc", "reply-to"):
        assert h.count(name) == (2 if name in ("from", "to", "subject", "date", "message-id", "mime-version",
                                               "content-type") else 1), (name, h)
    assert ";t=" in flat and ";l=" not in flat and "rsa-sha1" not in flat
    assert "received" not in h


BODIES = {
    "folded-and-odd-whitespace": (
        [("Subject", " a subject\n\t  folded   twice \n  and again  "), ("X-Odd", " \t\ttabs  and  spaces  "),
         ("Cc", "  <cc@example.org>,\n\t<cc2@example.org>")],
        b"Line with  inner   spaces and trailing  \r\n\tIndented line\t\r\n \r\nend\r\n"),
    "8bit-body": ([("Content-Transfer-Encoding", " 8bit")],
                  "Grüße, ça va ? 日本語\r\n".encode() + bytes(range(128, 256)) + b"\r\n"),
    "empty-body": ([], b""),
    "trailing-blank-lines": ([], b"text\r\n\r\n\r\n  \r\n\r\n"),
    "bare-lf-as-postfix-normalises-it": ([], b"first\nsecond\n\nthird\n".replace(b"\n", b"\r\n")),
    "very-long-lines": ([("X-Long", " " + "h" * 5000)], (b"x" * 200_000) + b"\r\n" + (b"y " * 50_000) + b"\r\n"),
}


@pytest.mark.parametrize("case", list(BODIES))
def test_message_shapes_verify(milter, tmp_path, case):
    extra, body = BODIES[case]
    # miltertest overflows a fixed buffer on a 5000-byte header field; Postfix
    # does not, and neither does our Postfix-like client.
    driver = ms.client_sign if case == "very-long-lines" else ms.miltertest_sign
    sign_and_verify(milter, tmp_path, headers_from("user1@example.com", extra), body, 2, driver=driver)


def test_50_mib_message_verifies(milter, tmp_path):
    if milter.spec and "relaxed" not in milter.config.read_text().split("dkimBodyCanonicalization")[1].split("\n")[0]:
        pytest.skip("one canonicalization is enough for the 50 MiB case")
    line = b"The quick brown fox jumps over the lazy dog; 0123456789 " * 2 + b"\r\n"
    body = line * (50 * 1024 * 1024 // len(line) + 1)
    assert len(body) >= 50 * 1024 * 1024
    sign_and_verify(milter, tmp_path, headers_from("user@ed.example.net"), body, 1)


def test_internal_network_client_is_signed_without_authentication(milter, tmp_path):
    sign_and_verify(milter, tmp_path, headers_from("user@ed.example.net"), b"internal\r\n", 1,
                    auth_user=None, client=("host.internal", "10.1.2.3"))
    sign_and_verify(milter, tmp_path, headers_from("user@ed.example.net"), b"internal v6\r\n", 1,
                    auth_user=None, client=("host6.internal", "2001:db8::25"))


def test_local_submission_is_signed(milter, tmp_path):
    # Postfix's cleanup presents sendmail/pickup mail as localhost 127.0.0.1
    # port 0 to non_smtpd_milters; 127.0.0.0/8 is not internal in this config.
    # (miltertest cannot send port 0, so the Postfix-like client does.)
    sign_and_verify(milter, tmp_path, headers_from("user@ed.example.net"), b"local\r\n", 1, driver=ms.client_sign,
                    auth_user=None, client=("localhost", "127.0.0.1", 0))
    # The same address from a real port is an SMTP client, not local submission.
    reply, signatures = ms.client_sign(milter, headers_from("user@ed.example.net"), b"x\r\n", auth_user=None,
                                       client=("localhost", "127.0.0.1", 33000))
    assert reply == "c" and signatures == []


@pytest.mark.parametrize("case,headers,reason", [
    ("unauthenticated", None, "client unknown.example.org[198.51.100.7] is neither authenticated nor in dkim.internalNetworks"),
    ("foreign-domain", [("From", " <someone@foreign.example>"), ("Subject", " hi")],
     "From domain foreign.example is not a signing domain"),
    ("two-from", [("From", " <a@example.com>"), ("From", " <b@example.com>")], "2 From headers"),
    ("no-from", [("Subject", " no from")], "no From header"),
    ("two-mailboxes", [("From", " a@example.com, b@example.com")], "several mailboxes"),
    ("unparseable", [("From", " \"unterminated <a@example.com>")], "cannot parse From"),
])
def test_unsigned_cases_pass_with_the_reason_logged(milter, case, headers, reason):
    auth = None if case == "unauthenticated" else "user1@example.com"
    client = ("unknown.example.org", "198.51.100.7")
    reply, signatures = ms.miltertest_sign(milter, headers or ms_headers(), b"body\r\n", auth_user=auth, client=client,
                                           script_name=f"unsigned-{case}.lua")
    assert reply == "c" and signatures == []
    assert f"4F2A1B3C: not signed: " in milter.log() and reason in milter.log(), milter.log()


def ms_headers():
    return headers_from("user1@example.com")


def test_distribution_miltertest_script_passes(milter):
    script = ms.snmtest.SOURCE_ROOT / "tests" / "milter" / "snm-dkim-milter.lua"
    result = ms.snmtest.run(["miltertest", "-D", f"SOCKET={milter.spec}", "-D", "SIGNING_DOMAIN=example.com",
                             "-s", script])
    assert "all miltertest checks passed" in result.stdout
