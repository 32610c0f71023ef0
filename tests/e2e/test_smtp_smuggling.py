"""SMTP smuggling (postfix.org/smtp-smuggling.html) is closed on port 25:
each non-standard end-of-data sequence, followed by a second transaction in
the same DATA, never delivers a second message (smtpdForbidBareNewline);
the three with a bare LF get 550 and deliver nothing at all.
The client is a stranger (127.0.0.2, outside internalNetworks, which are
exempt from the check as Postfix recommends). VRFY tells a stranger nothing.
"""
import socket
import time
import uuid

import pytest

USER1, P1 = "user1@example.com", "password1"
VARIANTS = {"LF.LF": b"\n.\n", "CRLF.LF": b"\r\n.\n", "LF.CRLF": b"\n.\r\n",
            "CR.CRLF": b"\r.\r\n", "CRLF.CR": b"\r\n.\r"}
SETTLE_SECONDS = 3  # delivery to the mailbox takes well under a second here


class RawSmtp:
    """An SMTP client that sends exactly the bytes it is given."""

    def __init__(self, port):
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=15, source_address=("127.0.0.2", 0))
        self.replies = b""
        self.read_reply()

    def read_reply(self):
        data = b""
        try:
            while not data.endswith(b"\r\n") or data.splitlines()[-1][3:4] == b"-":
                chunk = self.sock.recv(4096)
                if not chunk:
                    break
                data += chunk
        except (socket.timeout, ConnectionResetError):
            pass
        self.replies += data
        return data

    def command(self, line):
        try:
            self.sock.sendall(line)
        except (BrokenPipeError, ConnectionResetError):
            return b""
        return self.read_reply()

    def close(self):
        self.sock.close()


@pytest.mark.parametrize("variant", VARIANTS)
def test_a_smuggled_second_message_is_never_delivered(acceptance_sandbox, variant):
    sandbox = acceptance_sandbox
    tag = uuid.uuid4().hex[:10]
    outer, smuggled = f"outer-{variant}-{tag}", f"smuggled-{variant}-{tag}"
    client = RawSmtp(sandbox.port("smtp"))
    try:
        assert client.command(b"EHLO client.example.net\r\n").startswith(b"250")
        assert client.command(b"MAIL FROM:<stranger@example.net>\r\n").startswith(b"250")
        assert client.command(f"RCPT TO:<{USER1}>\r\n".encode()).startswith(b"250")
        assert client.command(b"DATA\r\n").startswith(b"354")
        data = (f"From: stranger@example.net\r\nTo: {USER1}\r\nSubject: {outer}\r\n\r\nfirst message\r\n".encode()
                + VARIANTS[variant]
                + b"MAIL FROM:<admin@example.com>\r\n"
                + f"RCPT TO:<{USER1}>\r\n".encode()
                + b"DATA\r\n"
                + f"From: admin@example.com\r\nTo: {USER1}\r\nSubject: {smuggled}\r\n\r\nsmuggled\r\n".encode()
                + b"\r\n.\r\n")
        client.command(data)
        client.command(b"QUIT\r\n")
    finally:
        client.close()
    time.sleep(SETTLE_SECONDS)
    assert sandbox.find_mail(USER1, P1, smuggled) is None, f"smuggled message delivered; replies: {client.replies!r}"
    if b"\n" in VARIANTS[variant].replace(b"\r\n", b""):  # a bare LF: Postfix refuses the whole message
        assert b"550 5.5.2 mail.example.com Error: bare <LF> received" in client.replies, client.replies
        assert sandbox.find_mail(USER1, P1, outer) is None
    # A normal message right after is delivered.
    with sandbox.smtp(source="127.0.0.2") as smtp:
        msg = sandbox.message("stranger@example.net", [USER1], subject=f"after-{variant}-{tag}")
        smtp.send_message(msg, from_addr="stranger@example.net", to_addrs=[USER1])
    sandbox.wait_for_mail(USER1, P1, f"after-{variant}-{tag}")


def test_vrfy_tells_a_stranger_nothing(acceptance_sandbox):
    with acceptance_sandbox.smtp(source="127.0.0.2") as client:
        code, _ = client.verify(USER1)
        assert code == 502
