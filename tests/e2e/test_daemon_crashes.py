"""kill -9 of snm-dkim-milter, snm-policyd, rspamd and Redis under load:
the sandbox's supervisor restarts each, the stack accepts mail again within
RECOVERY_LIMIT_SECONDS, every message that got 250 is delivered exactly once,
none got a 5xx, and `sandbox down` leaves no process (rspamd workers too)."""
import os
import signal
import smtplib
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from itertools import count
from pathlib import Path

from sandbox_support import Sandbox

MESSAGES = 200
CLIENT_THREADS = 8
# After a kill the stack must take mail end-to-end again within this.
RECOVERY_LIMIT_SECONDS = 15
# A client retries a 4xx this often before the test gives up on the message.
MAX_ATTEMPTS = 60
RETRY_PAUSE_SECONDS = 0.5
VICTIMS = ["snm-dkim-milter", "snm-policyd", "rspamd", "redis"]
RECIPIENTS = [("user1@example.com", "password1"), ("user2@example2.com", "password2")]
# Inbound mail comes from many strangers, as at a real MX, and each stays
# far below clientRateLimits' 60 connections a minute.
INBOUND_SOURCES = [f"127.0.0.{n}" for n in range(100, 200)]
_inbound_connections = count()


def inbound_source():
    return INBOUND_SOURCES[next(_inbound_connections) % len(INBOUND_SOURCES)]


def send_once(sandbox, inbound, subject, recipient):
    """'ok', 'temp' (4xx or broken connection) or raises on a 5xx."""
    sender = "outsider@example.net" if inbound else "user1@example.com"
    msg = Sandbox.message(sender, [recipient], subject=subject, headers={"Message-ID": f"<{subject}@crash.test>"})
    try:
        client = sandbox.smtp(source=inbound_source()) if inbound else sandbox.submission("user1@example.com", "password1")
        with client:
            client.send_message(msg)
        return "ok"
    except smtplib.SMTPResponseException as e:
        if 500 <= e.smtp_code < 600:
            raise AssertionError(f"{subject}: 5xx {e.smtp_code} {e.smtp_error!r}")
        return "temp"
    except smtplib.SMTPRecipientsRefused as e:
        codes = [c for c, _ in e.recipients.values()]
        if any(500 <= c < 600 for c in codes):
            raise AssertionError(f"{subject}: 5xx {e.recipients}")
        return "temp"
    except (smtplib.SMTPException, OSError):
        return "temp"


def wait_for_mail_flow(sandbox):
    """Seconds until one message is accepted and delivered end-to-end."""
    start = time.monotonic()
    subject = f"probe-{uuid.uuid4()}"
    while time.monotonic() - start < 60:
        if send_once(sandbox, True, subject, "user1@example.com") == "ok":
            sandbox.wait_for_mail("user1@example.com", "password1", subject, timeout=30)
            return time.monotonic() - start
        time.sleep(0.2)
    raise AssertionError("no mail accepted 60 s after the kill")


def subjects_in(sandbox, user, password):
    with sandbox.imap(user, password) as imap:
        imap.select("INBOX")
        _, data = imap.search(None, "ALL")
        found = []
        for num in data[0].split():
            _, parts = imap.fetch(num, "(BODY.PEEK[HEADER.FIELDS (SUBJECT)])")
            found.append(parts[0][1].decode().split(":", 1)[1].strip())
        return found


def test_kill_9_under_load_loses_nothing_and_recovers(build_dir):
    sandbox = Sandbox(Path(__file__).parent / "data" / "acceptance.toml")
    sandbox.up()
    try:
        accepted, tempfails, lock = {}, [0], threading.Lock()

        def client(i):
            inbound = i % 2 == 0
            recipient = RECIPIENTS[i % 4 // 2][0]
            subject = f"crash-{i}-{uuid.uuid4().hex[:8]}"
            for _ in range(MAX_ATTEMPTS):
                if send_once(sandbox, inbound, subject, recipient) == "ok":
                    with lock:
                        accepted[subject] = recipient
                    return
                with lock:
                    tempfails[0] += 1
                time.sleep(RETRY_PAUSE_SECONDS)
            raise AssertionError(f"{subject}: still tempfailed after {MAX_ATTEMPTS} attempts")

        recoveries = {}
        with ThreadPoolExecutor(CLIENT_THREADS) as pool:
            futures = [pool.submit(client, i) for i in range(MESSAGES)]
            for victim in VICTIMS:
                time.sleep(1)
                pid = sandbox.pids()[victim]
                os.kill(pid, signal.SIGKILL)
                recoveries[victim] = wait_for_mail_flow(sandbox)
            for f in futures:
                f.result()
        print(f"recovery after kill -9 (s): { {k: round(v, 2) for k, v in recoveries.items()} }; "
              f"4xx/retries: {tempfails[0]}; accepted: {len(accepted)}")
        for victim, seconds in recoveries.items():
            assert seconds <= RECOVERY_LIMIT_SECONDS, (victim, seconds)
        assert len(accepted) == MESSAGES
        deadline = time.monotonic() + 60
        while True:
            delivered = []
            for user, password in RECIPIENTS:
                delivered += [s for s in subjects_in(sandbox, user, password) if s.startswith("crash-")]
            if len(delivered) >= len(accepted) or time.monotonic() > deadline:
                break
            time.sleep(1)
        assert sorted(delivered) == sorted(accepted), "missing or duplicated messages"
        log = sandbox.log("supervisor.log")
        for victim in VICTIMS:
            assert f"{victim} (pid" in log and "signal 9" in log, log
        groups = {os.getpgid(pid) for pid in sandbox.pids().values() if os.path.exists(f"/proc/{pid}")}
    finally:
        sandbox.down()
    time.sleep(0.5)
    left = [p for p in Path("/proc").iterdir() if p.name.isdigit() and _pgid(int(p.name)) in groups]
    assert not left, f"processes of the sandbox outlived `sandbox down`: {left}"


def _pgid(pid):
    try:
        return os.getpgid(pid)
    except OSError:
        return None
