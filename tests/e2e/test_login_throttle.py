"""Password guessing is throttled on every login path (loginThrottle):
Dovecot asks snm-policyd before it checks a password and reports each
failure after, for IMAP and for SMTP AUTH, which Postfix hands to Dovecot.

Each test guesses from a loopback address of its own (127.0.0.x outside the
acceptance config's internalNetworks, 127.0.0.1/32), so a ban never touches
another test. Guesses run in parallel: Dovecot's own per-address failure
delay (up to 15 s) would make ten sequential guesses take minutes.
"""
import concurrent.futures
import imaplib
import os
import signal
import smtplib
import socket

from sandbox_support import client_tls

USER1, P1 = "user1@example.com", "password1"
MAX_FAILURES = 10  # loginThrottle.maxFailures' default
REFUSAL = "Too many failed logins from your address"


class IMAP4From(imaplib.IMAP4):
    def __init__(self, source, port):
        self.source = source
        super().__init__("127.0.0.1", port, timeout=60)

    def _create_socket(self, timeout):
        return socket.create_connection((self.host, self.port), timeout, source_address=(self.source, 0))


def imap_login(sandbox, source, password):
    """The server's answer to LOGIN from `source`: "OK" or the NO text."""
    client = IMAP4From(source, sandbox.port("imap"))
    try:
        client.starttls(ssl_context=client_tls())
        client.login(USER1, password)
        return "OK"
    except imaplib.IMAP4.error as error:
        return str(error)
    finally:
        client.shutdown()


def smtp_login(sandbox, source, password):
    """The server's answer to AUTH PLAIN on submission from `source`."""
    client = smtplib.SMTP("127.0.0.1", sandbox.port("submission"), timeout=60, source_address=(source, 0))
    try:
        client.ehlo("client.example.net")
        client.starttls(context=client_tls())
        client.ehlo("client.example.net")
        client.user, client.password = USER1, password
        code, text = client.auth("PLAIN", client.auth_plain, initial_response_ok=True)
        return f"{code} {text.decode()}"
    except smtplib.SMTPAuthenticationError as error:
        return f"{error.smtp_code} {error.smtp_error.decode()}"
    finally:
        client.close()


def guess_in_parallel(login, sandbox, source, count):
    with concurrent.futures.ThreadPoolExecutor(max_workers=count) as pool:
        return list(pool.map(lambda i: login(sandbox, source, f"wrong-guess-{i}"), range(count)))


def refused_after_guesses(login, sandbox, source):
    """Guesses MAX_FAILURES wrong passwords, then returns the answers to the
    next guess and to the right password from the same address."""
    answers = guess_in_parallel(login, sandbox, source, MAX_FAILURES)
    assert all(REFUSAL not in a for a in answers), f"refused before {MAX_FAILURES} failures: {answers}"
    assert all("OK" != a and not a.startswith("235") for a in answers), answers
    with concurrent.futures.ThreadPoolExecutor(max_workers=2) as pool:
        return tuple(pool.map(lambda p: login(sandbox, source, p), ("one-more-guess", P1)))


def policyd_log(sandbox):
    return sandbox.log("snm-policyd.log")


def test_imap_guessing_bans_the_address_not_the_account(acceptance_sandbox):
    sandbox = acceptance_sandbox
    guess, right = refused_after_guesses(imap_login, sandbox, "127.0.0.66")
    assert REFUSAL in guess, guess
    # Banned: even the right password is refused, so it is never checked.
    assert REFUSAL in right, right
    # The real user, elsewhere, still gets in.
    assert imap_login(sandbox, "127.0.0.67", P1) == "OK"
    log = policyd_log(sandbox)
    assert f"auth policy: ban 127.0.0.66 for 900 s after {MAX_FAILURES} failed logins" in log, log[-2000:]
    assert "auth policy: refuse login=user1@example.com from 127.0.0.66 (imap)" in log, log[-2000:]


def test_smtp_auth_guessing_is_throttled_too(acceptance_sandbox):
    sandbox = acceptance_sandbox
    guess, right = refused_after_guesses(smtp_login, sandbox, "127.0.0.68")
    # Postfix gives up on an answer after 10 s (454, "try again"): Dovecot's
    # own per-address delay can be longer than that. Either way, refused.
    for answer in (guess, right):
        assert (answer.startswith("535") and REFUSAL in answer) or answer.startswith("454"), answer
    assert "auth policy: refuse login=user1@example.com from 127.0.0.68 (smtp)" in policyd_log(sandbox)
    assert smtp_login(sandbox, "127.0.0.69", P1).startswith("235")
    assert "auth policy: ban 127.0.0.68 for 900 s" in policyd_log(sandbox)


def test_a_ban_survives_a_new_snapshot_and_sighup(acceptance_sandbox):
    sandbox = acceptance_sandbox
    guess_in_parallel(imap_login, sandbox, "127.0.0.70", MAX_FAILURES)
    assert REFUSAL in imap_login(sandbox, "127.0.0.70", P1)
    sandbox.apply(sandbox.config)  # a new routing snapshot
    os.kill(sandbox.pids()["snm-policyd"], signal.SIGHUP)
    assert REFUSAL in imap_login(sandbox, "127.0.0.70", P1)


def test_internal_networks_are_never_throttled(acceptance_sandbox):
    sandbox = acceptance_sandbox
    answers = guess_in_parallel(imap_login, sandbox, "127.0.0.1", MAX_FAILURES + 2)
    assert all(REFUSAL not in a for a in answers), answers
    assert imap_login(sandbox, "127.0.0.1", P1) == "OK"


def test_a_local_process_without_the_key_cannot_ban_anyone(acceptance_sandbox):
    """The auth policy listener is on loopback: any local user reaches it.
    Reports without Dovecot's key are refused (401) and count nothing, and
    only root reads the key."""
    sandbox = acceptance_sandbox
    body = b'{"login":"user1@example.com","remote":"127.0.0.76","protocol":"imap","success":false}'
    for authorization in (b"", b"Authorization: Bearer not-the-key-0123456789abcdef\r\n"):
        for _ in range(MAX_FAILURES + 2):
            with socket.create_connection(("127.0.0.1", sandbox.port("auth_policy")), timeout=10) as sock:
                sock.sendall(b"POST /?command=report HTTP/1.1\r\nHost: 127.0.0.1\r\n" + authorization
                             + b"Content-Type: application/json\r\nContent-Length: %d\r\n\r\n" % len(body) + body)
                assert sock.recv(4096).startswith(b"HTTP/1.1 401 Unauthorized")
    assert imap_login(sandbox, "127.0.0.76", P1) == "OK"
    assert "ignored a request without the right key" in policyd_log(sandbox)
    key_file = sandbox.dir / "var" / "lib" / "snm" / "auth-policy.key"
    key = key_file.read_text().strip()
    assert oct(key_file.stat().st_mode & 0o777) == "0o600"
    dovecot_dir = sandbox.dir / "etc" / "snm" / "dovecot"
    assert oct((dovecot_dir / "auth-policy.conf").stat().st_mode & 0o777) == "0o600"
    assert key not in (dovecot_dir / "dovecot.conf").read_text()
    assert key not in policyd_log(sandbox)


def test_no_password_is_ever_logged(acceptance_sandbox):
    for log in (acceptance_sandbox.dir / "log").iterdir():
        text = log.read_text(errors="replace")
        for secret in (P1, "wrong-guess-", "one-more-guess"):
            assert secret not in text, f"{secret!r} appears in {log.name}"
