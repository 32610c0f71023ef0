"""snm-policyd as a process: Postfix's own client (postmap -q socketmap:…)
gets the answers the unit-tested routing model gives; persistent, pipelined
and split requests; malformed input closes only that connection; a replaced
snapshot is used without a restart; no snapshot means TEMP, never NOTFOUND;
SIGTERM exits cleanly."""
import os
import signal
import subprocess

import pytest

import policyd_support as ps
import snmtest

EXAMPLE = (snmtest.SOURCE_ROOT / "contrib" / "examples" / "snm.toml").read_text()


@pytest.fixture
def daemon(build_dir, tmp_path):
    ps.open_to_daemons(tmp_path)
    state = ps.apply_config(EXAMPLE, tmp_path)
    policyd = ps.Policyd(state, tmp_path)
    yield policyd
    policyd.stop()


# (table, key, answer or None for NOTFOUND) — the rules of the example
# config, as tests/unit/common/test_routing_snapshot.cpp pins them down.
EXPECTED = [
    ("domains", "example.com", "example.com"),
    ("domains", "example2.com", "example2.com"),
    ("domains", "example.org", None),
    ("mailboxes", "user1@example.com", "example.com/user1/"),
    ("mailboxes", "user1+tag@example.com", "example.com/user1/"),
    ("mailboxes", "info@example.com", None),
    ("aliases", "info@example.com", "user1@example.com"),
    ("aliases", "info+news@example.com", "user1+news@example.com"),
    ("aliases", "postmaster@example2.com", "user1@example.com"),
    ("aliases", "team@example.com", "user1@example.com,user3@example.com"),
    ("aliases", "user3@example.com", "user3@example.com,user3@elsewhere.example.org"),  # forward keeps the local copy
    ("aliases", "anything@example2.com", "user1@example.com"),  # catch-all
    ("aliases", "user2@example2.com", None),                    # an existing address wins over the catch-all
    ("aliases", "nobody@example.com", None),
    ("aliases", "example.com", None),
    ("senders", "user1@example.com", "user1@example.com"),
    ("senders", "newsletter@example.com", "user1@example.com"),  # sendAs
    ("senders", "abuse@example.com", "user1@example.com"),       # extraVirtualAliases
    ("senders", "anything@example2.com", None),                  # catch-all: receive only
    ("senders", "user3@elsewhere.example.org", None),
]


def test_postmap_answers_match_the_model(daemon):
    for table, key, expected in EXPECTED:
        assert ps.postmap_query(key, daemon.postfix_table(table)) == expected, (table, key)
    # Keys are matched case-insensitively, as Postfix does.
    assert ps.postmap_query("Info@EXAMPLE.com", daemon.postfix_table("aliases")) == "user1@example.com"


def test_many_requests_on_one_connection_pipelined_and_split(daemon):
    client = ps.SocketmapClient(daemon.socketmap_port)
    for _ in range(3):
        assert client.query("aliases", "info@example.com") == "OK user1@example.com"
    # Pipelined: three requests in one write, answered in order.
    client.send_raw(b"".join(ps.netstring(f"domains {d}") for d in ("example.com", "nope.org", "example2.com")))
    assert [client.read_reply() for _ in range(3)] == ["OK example.com", "NOTFOUND ", "OK example2.com"]
    # Split: a request arriving a byte at a time.
    for byte in ps.netstring("mailboxes user3@example.com"):
        client.send_raw(bytes([byte]))
    assert client.read_reply() == "OK example.com/user3/"

    policy = ps.PolicyClient(daemon.policy_path)
    two = ps.policy_request(sender="user1@example.com", recipient="noreply@example.com") + \
        ps.policy_request(sender="user1@example.com", recipient="user2@example2.com")
    policy.send_raw(two[:17])
    policy.send_raw(two[17:])
    assert policy.read_reply() == "REJECT This account cannot receive emails."
    assert policy.read_reply() == "DUNNO"
    assert policy.ask(sender="user1@example.com", recipient="x@example.org",
                      sasl_username="user2@example2.com", policy_context="sender") == \
        "553 5.7.1 not owned by user user2@example2.com"


@pytest.mark.parametrize("garbage", [
    b"x:abc,",                # no length
    b"3:abcd,",               # no comma where the length says
    b"99999:",                # longer than the request limit
    b"4" * 20,                # endless digits
])
def test_malformed_socketmap_input_closes_only_that_connection(daemon, garbage):
    bad = ps.SocketmapClient(daemon.socketmap_port)
    good = ps.SocketmapClient(daemon.socketmap_port)
    bad.send_raw(garbage)
    assert bad.closed_by_server()
    assert good.query("domains", "example.com") == "OK example.com"
    assert "malformed socketmap request" in daemon.log()


@pytest.mark.parametrize("garbage", [
    "no equals sign\n\n",
    "request=smtpd_access_policy\nsender=" + "a" * 5000,   # a line over the limit, never ended
    "request=something_else\n\n",
    "\n",
])
def test_malformed_policy_input_closes_only_that_connection(daemon, garbage):
    bad = ps.PolicyClient(daemon.policy_path)
    good = ps.PolicyClient(daemon.policy_path)
    bad.send_raw(garbage)
    assert bad.sock.recv(100) == b""
    assert good.ask(sender="a@example.org", recipient="user1@example.com") == "DUNNO"


def test_no_snapshot_means_temporary_answers_until_one_appears(build_dir, tmp_path):
    ps.open_to_daemons(tmp_path)
    state = tmp_path / "var" / "lib" / "snm"
    state.mkdir(parents=True)
    ps.open_to_daemons(state)
    policyd = ps.Policyd(state, tmp_path)
    try:
        client = ps.SocketmapClient(policyd.socketmap_port)
        assert client.query("aliases", "info@example.com").startswith("TEMP ")
        policy = ps.PolicyClient(policyd.policy_path)
        assert policy.ask(sender="a@example.org", recipient="user1@example.com").startswith("DEFER_IF_PERMIT 4.")
        ps.apply_config(EXAMPLE, tmp_path)
        # The same connections get real answers once the snapshot exists.
        assert snmtest.wait_until(lambda: client.query("aliases", "info@example.com") == "OK user1@example.com",
                                  timeout=10, what="the new snapshot in service")
        assert policy.ask(sender="a@example.org", recipient="user1@example.com") == "DUNNO"
    finally:
        policyd.stop()


def test_a_replaced_snapshot_is_used_on_open_connections(daemon, tmp_path):
    client = ps.SocketmapClient(daemon.socketmap_port)
    assert client.query("aliases", "team@example.com") == "OK user1@example.com,user3@example.com"
    changed = EXAMPLE.replace('"team@example.com"', '"crew@example.com"')
    ps.apply_config(changed, tmp_path)
    os.kill(daemon.process.pid, signal.SIGHUP)
    assert snmtest.wait_until(lambda: client.query("aliases", "crew@example.com") ==
                              "OK user1@example.com,user3@example.com", timeout=10, what="the new snapshot")
    assert client.query("aliases", "team@example.com") == "NOTFOUND "


def test_a_broken_snapshot_keeps_the_last_good_one(daemon, tmp_path):
    client = ps.SocketmapClient(daemon.socketmap_port)
    assert client.query("aliases", "info@example.com") == "OK user1@example.com"
    state = tmp_path / "var" / "lib" / "snm"
    broken = state / "routing.cdb.broken"
    broken.write_bytes(b"not a cdb file")
    os.chmod(broken, 0o644)
    os.rename(broken, state / "routing.cdb")
    os.kill(daemon.process.pid, signal.SIGHUP)
    snmtest.wait_until(lambda: "still using the previous snapshot" in daemon.log(), what="the warning")
    assert client.query("aliases", "info@example.com") == "OK user1@example.com"


def test_sigterm_exits_cleanly(daemon):
    client = ps.SocketmapClient(daemon.socketmap_port)
    assert client.query("domains", "example.com") == "OK example.com"
    os.kill(daemon.process.pid, signal.SIGTERM)
    assert daemon.process.popen.wait(timeout=10) == 0
    assert client.closed_by_server()


def test_help_version_and_bad_arguments(build_dir):
    assert "--socketmap-socket" in snmtest.run([ps.POLICYD, "--help"]).stdout
    assert snmtest.run([ps.POLICYD, "--version"]).stdout.startswith("snm-policyd ")
    bad = subprocess.run([str(ps.POLICYD), "--state", "/nonexistent"], capture_output=True, text=True)
    assert bad.returncode == 2 and "--policy-socket is required" in bad.stderr
