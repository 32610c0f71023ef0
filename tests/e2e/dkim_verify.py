"""Independent DKIM verification for the tests: python3-dkim and Perl's
Mail::DKIM (mail_dkim_verify.pl), each resolving the public keys through a
DnsStub on loopback (UDP, then TCP for answers too large for UDP). Never
snm's own code.

Debian 12's Mail::DKIM (1.20230212) predates its Ed25519 support: it answers
"invalid (unsupported algorithm ed25519-sha256)" for those signatures.
`mail_dkim_accepts` takes that answer for an Ed25519 signature only while the
installed Mail::DKIM really lacks Ed25519, so a newer one turns the check
into a real one; python3-dkim verifies Ed25519 in any case.
"""
import functools
import re
import subprocess
from pathlib import Path
from typing import NamedTuple

import dkim
import dns.resolver

MAIL_DKIM_VERIFIER = Path(__file__).parent / "mail_dkim_verify.pl"
# Seconds a verifier may take for one message (a 50 MiB body included).
VERIFY_TIMEOUT = 300


def crlf(message):
    """The message with CRLF line ends, as it is signed and verified."""
    return message.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")


def signatures(message):
    """(domain, selector, algorithm) of each DKIM-Signature, top to bottom."""
    found = []
    for name, value in dkim.DKIM(crlf(message)).headers:
        if name.lower() == b"dkim-signature":
            tags = dict(part.strip().split(b"=", 1) for part in value.split(b";") if b"=" in part)
            tag = lambda key: re.sub(rb"\s+", b"", tags[key]).decode()  # noqa: E731 (FWS inside a value)
            found.append((tag(b"d"), tag(b"s"), tag(b"a")))
    return found


def verify_with_python_dkim(message, dns_port):
    """[True/False per DKIM-Signature, top to bottom], python3-dkim querying the stub."""
    resolver = dns.resolver.Resolver(configure=False)
    resolver.nameservers = ["127.0.0.1"]
    resolver.port = dns_port

    def dnsfunc(name, timeout=5):
        try:
            answer = resolver.resolve(name.decode() if isinstance(name, bytes) else name, "TXT", lifetime=timeout)
        except (dns.resolver.NXDOMAIN, dns.resolver.NoAnswer):
            return None
        return b"".join(b"".join(r.strings) for r in answer)

    message = crlf(message)
    count = len(signatures(message))
    verifier = dkim.DKIM(message)
    return [verifier.verify(idx=i, dnsfunc=dnsfunc) for i in range(count)]


class MailDkimVerdict(NamedTuple):
    domain: str
    selector: str
    algorithm: str
    result: str  # "pass", "fail", "invalid", "temperror", …
    detail: str  # Mail::DKIM's result_detail


def verify_with_mail_dkim(message, dns_port):
    """[MailDkimVerdict per DKIM-Signature, top to bottom] from Mail::DKIM::Verifier."""
    result = subprocess.run(["perl", str(MAIL_DKIM_VERIFIER), str(dns_port)], input=crlf(message),
                            capture_output=True, timeout=VERIFY_TIMEOUT)
    if result.returncode != 0:
        raise AssertionError(f"Mail::DKIM verifier failed: {result.stderr.decode(errors='replace')}")
    return [MailDkimVerdict(*(line.split("\t", 4) + [""] * 5)[:5])
            for line in result.stdout.decode().splitlines() if line.strip()]


@functools.cache
def mail_dkim_has_ed25519():
    """Whether the installed Mail::DKIM verifies ed25519-sha256."""
    return subprocess.run(["perl", "-MMail::DKIM::Algorithm::ed25519_sha256", "-e", "1"],
                          capture_output=True).returncode == 0


def mail_dkim_accepts(verdict):
    """A good signature's verdict: "pass", or for Ed25519 the "unsupported
    algorithm" answer of a Mail::DKIM without Ed25519 (Debian 12's)."""
    if verdict.result == "pass":
        return True
    return (verdict.algorithm == "ed25519-sha256" and not mail_dkim_has_ed25519() and verdict.result == "invalid"
            and "unsupported algorithm ed25519-sha256" in verdict.detail)
