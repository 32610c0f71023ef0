"""Postfix's per-client limits (clientRateLimits, counted by anvil) hold for
a stranger and spare the internal network, with the defaults: 60
connections, 20 at once, 100 messages and 30 AUTH commands per client
address and minute.

Each test uses a loopback source address of its own (127.0.0.7x, outside
the acceptance config's internalNetworks 127.0.0.1/32, and used by no other
test), so one test's count never touches another's.
"""
import smtplib
import socket

from sandbox_support import client_tls

USER1, P1 = "user1@example.com", "password1"
CONNECTIONS_PER_MINUTE = 60
CONCURRENT_CONNECTIONS = 20
MESSAGES_PER_MINUTE = 100
AUTHS_PER_MINUTE = 30


def greeting(sandbox, source, port_name="smtp"):
    """The first reply of a fresh connection from `source`, then QUIT."""
    with socket.create_connection(("127.0.0.1", sandbox.port(port_name)), timeout=30,
                                  source_address=(source, 0)) as sock:
        reply = sock.recv(4096).decode(errors="replace")
        try:
            sock.sendall(b"QUIT\r\n")
            sock.recv(4096)
        except OSError:
            pass
        return reply


def assert_limit_logged(sandbox, warning):
    """smtpd logged `warning` for the port-25 service or submission."""
    log = sandbox.log("postfix.log")
    services = [f"127.0.0.1:{sandbox.port(name)}" for name in ("smtp", "submission")]
    assert any(f"warning: {warning} for service {service}" in log for service in services), \
        [line for line in log.splitlines() if "limit exceeded" in line]


def test_connection_rate_is_limited_for_a_stranger_only(acceptance_sandbox):
    sandbox = acceptance_sandbox
    replies = [greeting(sandbox, "127.0.0.71") for _ in range(CONNECTIONS_PER_MINUTE + 1)]
    assert all(r.startswith("220") for r in replies[:CONNECTIONS_PER_MINUTE]), replies
    assert replies[-1].startswith("421") and "too many connections" in replies[-1], replies[-1]
    # The internal network is exempt.
    internal = [greeting(sandbox, "127.0.0.1") for _ in range(CONNECTIONS_PER_MINUTE + 1)]
    assert all(r.startswith("220") for r in internal), internal[-1]
    assert_limit_logged(sandbox, "Connection rate limit exceeded: 61 from unknown[127.0.0.71]")


def test_concurrent_connections_are_limited(acceptance_sandbox):
    sandbox = acceptance_sandbox
    held = []
    try:
        for _ in range(CONCURRENT_CONNECTIONS):
            sock = socket.create_connection(("127.0.0.1", sandbox.port("smtp")), timeout=30,
                                            source_address=("127.0.0.72", 0))
            held.append(sock)
            assert sock.recv(4096).startswith(b"220")
        reply = greeting(sandbox, "127.0.0.72")
        assert reply.startswith("421") and "too many connections" in reply, reply
        assert_limit_logged(sandbox, "Connection concurrency limit exceeded: 21 from unknown[127.0.0.72]")
    finally:
        for sock in held:
            sock.close()


def test_message_rate_is_limited(acceptance_sandbox):
    """Each MAIL FROM counts as a message: the 101st in a minute is refused."""
    sandbox = acceptance_sandbox
    answers = []
    # A few transactions per connection, so smtpd's junk-command limit
    # (RSET counts) does not slow the test.
    for _ in range((MESSAGES_PER_MINUTE + 1 + 9) // 10):
        with smtplib.SMTP("127.0.0.1", sandbox.port("smtp"), timeout=30, source_address=("127.0.0.73", 0)) as client:
            client.ehlo("client.example.net")
            for _ in range(10):
                if len(answers) > MESSAGES_PER_MINUTE:
                    break
                code, text = client.mail("stranger@example.net")
                answers.append((code, text.decode()))
                client.rset()
    assert all(code == 250 for code, _ in answers[:MESSAGES_PER_MINUTE]), answers
    assert answers[MESSAGES_PER_MINUTE] == (450, "4.7.1 Error: too much mail from 127.0.0.73")
    assert_limit_logged(sandbox, "Message delivery request rate limit exceeded: 101 from unknown[127.0.0.73]")


def test_auth_rate_is_limited_on_submission(acceptance_sandbox):
    """The 31st AUTH from one address in a minute is refused, even with the
    right password; the real user elsewhere still logs in."""
    sandbox = acceptance_sandbox

    def login(source):
        with smtplib.SMTP("127.0.0.1", sandbox.port("submission"), timeout=30,
                          source_address=(source, 0)) as client:
            client.ehlo("client.example.net")
            client.starttls(context=client_tls())
            client.ehlo("client.example.net")
            try:
                code, text = client.login(USER1, P1)
            except smtplib.SMTPResponseException as error:
                code, text = error.smtp_code, error.smtp_error
            return code, text.decode()

    answers = [login("127.0.0.74") for _ in range(AUTHS_PER_MINUTE + 1)]
    assert all(code == 235 for code, _ in answers[:AUTHS_PER_MINUTE]), answers
    assert answers[-1] == (450, "4.7.1 Error: too many AUTH commands from 127.0.0.74")
    assert_limit_logged(sandbox, "AUTH command rate limit exceeded: 31 from unknown[127.0.0.74]")
    assert login("127.0.0.75")[0] == 235
