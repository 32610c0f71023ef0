"""Independent DKIM verification for the tests: python3-dkim and Perl's
Mail::DKIM, each resolving the public keys through a DnsStub on loopback.
Never snm's own code."""
import subprocess
from pathlib import Path

import dkim
import dns.resolver

MAIL_DKIM_VERIFIER = Path(__file__).parent / "mail_dkim_verify.pl"


def crlf(message):
    return message.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")


def signatures(message):
    """(domain, selector, algorithm) of each DKIM-Signature, in order."""
    found = []
    for name, value in dkim.DKIM(crlf(message)).headers:
        if name.lower() == b"dkim-signature":
            tags = dict(part.strip().split(b"=", 1) for part in value.split(b";") if b"=" in part)
            found.append((tags[b"d"].decode(), tags[b"s"].decode().strip(), tags[b"a"].decode()))
    return found


def verify_with_python_dkim(message, dns_port):
    """[True/False per signature], python3-dkim querying the stub server."""
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


def verify_with_mail_dkim(message, dns_port):
    """{(domain, selector): (result, detail)} from Mail::DKIM::Verifier
    ("pass" on success). Debian 12's Mail::DKIM has no Ed25519: it answers
    "invalid (unsupported algorithm ed25519-sha256)" for those."""
    result = subprocess.run(["perl", str(MAIL_DKIM_VERIFIER), str(dns_port)], input=crlf(message),
                            capture_output=True, timeout=60)
    if result.returncode != 0:
        raise AssertionError(f"Mail::DKIM verifier failed: {result.stderr.decode()}")
    verdicts = {}
    for line in result.stdout.decode().splitlines():
        if line.strip():
            verdict, domain, selector, detail = (line.split(" ", 3) + [""])[:4]
            verdicts[(domain, selector)] = (verdict, detail)
    return verdicts


def mail_dkim_accepts(verdict, algorithm):
    """Mail::DKIM's verdict counts as a pass: RSA must pass; Ed25519 passes or
    is the known 'unsupported algorithm' of the Mail::DKIM in Debian 12."""
    result, detail = verdict
    if result == "pass":
        return True
    return algorithm == "ed25519-sha256" and "unsupported algorithm ed25519-sha256" in detail
