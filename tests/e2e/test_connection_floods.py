"""A flood of 1,000 idle or half-sent connections to snm-dkim-milter's or
snm-policyd's sockets (anyone on the machine can reach them) does not stop
mail: while they are open, a message submitted on 587 is delivered
DKIM-signed and a stranger's message on 25 passes the policy and socketmap
checks; neither daemon dies. Their own limits (snm-dkim-milter's 1,024 and
snm-policyd's 4,096 connections, the idle and request timeouts) bound what
a flood holds; see their man pages.
"""
import os
import socket

import pytest

import snmtest

USER1, P1 = "user1@example.com", "password1"
USER2, P2 = "user2@example2.com", "password2"
FLOOD = 1000

# (daemon, socket, bytes each connection sends and then never completes)
TARGETS = {
    "milter-idle": ("snm-dkim-milter", "dkim-milter", b""),
    "milter-half-packet": ("snm-dkim-milter", "dkim-milter", b"\x00\x00\x00\x0dO\x00\x00"),
    "policy-idle": ("snm-policyd", "policy", b""),
    "policy-half-request": ("snm-policyd", "policy", b"request=smtpd_access_policy\nprotocol_state=RCPT\n"),
    "socketmap-half-netstring": ("snm-policyd", "socketmap", b"40:domains exam"),
    "auth-policy-half-request": ("snm-policyd", "auth_policy", b"POST /?command=allow HTTP/1.0\r\nContent-Le"),
}


def connect(sandbox, name):
    if name == "auth_policy":
        return socket.create_connection(("127.0.0.1", sandbox.port("auth_policy")), timeout=10)
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    # Blocking: a unix connect with a timeout fails at once (EAGAIN) while
    # the listen queue is full instead of waiting for the daemon to accept.
    sock.connect(str(sandbox.dir / "run" / "snm" / name))
    sock.settimeout(10)
    return sock


def open_descriptors(pid):
    return len(os.listdir(f"/proc/{pid}/fd"))


@pytest.mark.parametrize("target", TARGETS)
def test_a_flood_of_stalled_connections_does_not_stop_mail(acceptance_sandbox, target):
    sandbox = acceptance_sandbox
    daemon, name, stalled_bytes = TARGETS[target]
    daemons = {k: v for k, v in sandbox.pids().items() if k in ("snm-dkim-milter", "snm-policyd")}
    flood = []
    try:
        for _ in range(FLOOD):
            sock = connect(sandbox, name)
            flood.append(sock)
            if stalled_bytes:
                sock.sendall(stalled_bytes)
        # The daemon holds them all (accepted, not queued in the kernel).
        snmtest.wait_until(lambda: open_descriptors(daemons[daemon]) > FLOOD, timeout=30,
                           what=f"{daemon} to accept {FLOOD} connections")

        subject = sandbox.submit(USER1, P1, [USER2], subject=f"flood-{target}-out")
        signed = sandbox.wait_for_mail(USER2, P2, subject)
        assert "d=example.com" in str(signed["DKIM-Signature"]), signed
        with sandbox.smtp(source="127.0.0.2") as client:
            msg = sandbox.message("stranger@example.net", [USER1], subject=f"flood-{target}-in")
            client.send_message(msg, from_addr="stranger@example.net", to_addrs=[USER1])
        sandbox.wait_for_mail(USER1, P1, f"flood-{target}-in")
    finally:
        for sock in flood:
            sock.close()
    assert {k: v for k, v in sandbox.pids().items() if k in daemons} == daemons, "a daemon was restarted"
