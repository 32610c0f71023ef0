"""A running `snmctl sandbox` for end-to-end tests, and the mail-client
moves the tests make against it (SMTP submission, IMAP, POP3, the capture
sink).

Usage:
    with Sandbox(config_path) as sandbox:
        sandbox.submit("user1@example.com", "password1", ...)
"""
import email
import email.policy
import imaplib
import os
import poplib
import shutil
import smtplib
import ssl
import tempfile
import time
import uuid
from email.message import EmailMessage
from pathlib import Path

import snmtest
from rspamd_support import test_cache_dir

# Offsets of the sandbox's listeners from its port base (DESIGN.md).
PORT_OFFSETS = {"smtp": 25, "submission": 587, "submissions": 465, "imap": 143, "imaps": 993,
                "pop3": 110, "pop3s": 995, "managesieve": 4190, "sink": 26, "auth_policy": 27,
                "http": 80}

# A sink dump untouched this long is complete.
SINK_SETTLE_SECONDS = 0.3


def client_tls():
    """The sandbox's certificate is self-signed: tests check TLS is used, not who signed it."""
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    return context


class Sandbox:
    def __init__(self, config, keep_dir=False, port_base=None):
        """`port_base`: one from free_port_base(PORT_OFFSETS), when a test
        must know the ports before the sandbox starts (ACME's http-01)."""
        self.config = Path(config)
        self.keep_dir = keep_dir
        self.dir = None
        self.port_base = port_base

    # --- lifecycle ---------------------------------------------------------
    def __enter__(self):
        self.up()
        return self

    def __exit__(self, *exc):
        self.down()

    def up(self):
        self.dir = Path(tempfile.mkdtemp(prefix="snm-sandbox-"))
        self.port_base = self.port_base or free_port_base()
        # Sandboxes share rspamd's compiled hyperscan patterns between runs.
        result = snmtest.snmctl("sandbox", "up", "-c", self.config, "--dir", self.dir,
                                "--port-base", str(self.port_base), "--cache-dir", test_cache_dir("sandbox"),
                                check=False, timeout=240)
        if result.returncode != 0:
            logs = self.logs()
            self.down()
            raise AssertionError(f"snmctl sandbox up failed ({result.returncode}):\n{result.stdout}\n"
                                 f"{result.stderr}\n{logs}")
        self.banner = result.stdout

    def down(self):
        """snmctl sandbox down; fails the test if any process of the
        sandbox survives it (after killing the survivors)."""
        if self.dir is None:
            return
        snmtest.snmctl("sandbox", "down", "--dir", self.dir, check=False, timeout=60)
        survivors = processes_inside(self.dir)
        for pid in survivors:
            try:
                os.kill(pid, 9)
            except ProcessLookupError:
                pass
        if not self.keep_dir:
            shutil.rmtree(self.dir, ignore_errors=True)
        assert not survivors, f"`snmctl sandbox down` left processes running: {survivors}"

    def apply(self, config):
        """snmctl sandbox apply: a changed configuration, taken live."""
        return snmtest.snmctl("sandbox", "apply", "-c", config, "--dir", self.dir, check=False, timeout=60)

    def port(self, name):
        return self.port_base + PORT_OFFSETS[name]

    def pids(self):
        """{process name: pid} of everything the sandbox started (never empty while up)."""
        pids = {p.stem: int(p.read_text()) for p in (self.dir / "run" / "snm").glob("*.pid")}
        assert {"postfix", "dovecot", "snm-policyd", "sink"} <= set(pids), pids
        return pids

    def logs(self):
        out = []
        if self.dir and (self.dir / "log").is_dir():
            for log in sorted((self.dir / "log").iterdir()):
                text = log.read_text(errors="replace").splitlines()[-25:]
                out.append(f"--- {log.name}\n" + "\n".join(text))
        return "\n".join(out)

    def log(self, name):
        path = self.dir / "log" / name
        return path.read_text(errors="replace") if path.exists() else ""

    # --- SMTP -----------------------------------------------------------------
    def smtp(self, port_name="smtp", source="127.0.0.1"):
        """An unauthenticated SMTP session from `source` (127.0.0.2: outside
        the acceptance config's internal network)."""
        client = smtplib.SMTP("127.0.0.1", self.port(port_name), timeout=30, source_address=(source, 0))
        client.ehlo("client.example.net")
        return client

    def submission(self, user, password, port_name="submission"):
        """An authenticated submission session (STARTTLS on 587, TLS on 465)."""
        if port_name == "submissions":
            client = smtplib.SMTP_SSL("127.0.0.1", self.port(port_name), timeout=30, context=client_tls())
            client.ehlo("client.example.net")
        else:
            client = smtplib.SMTP("127.0.0.1", self.port(port_name), timeout=30)
            client.ehlo("client.example.net")
            client.starttls(context=client_tls())
            client.ehlo("client.example.net")
        client.login(user, password)
        return client

    @staticmethod
    def message(sender, recipients, subject=None, body="Hello from the snm end-to-end tests.\n", headers=None):
        msg = EmailMessage()
        msg["From"] = sender
        msg["To"] = ", ".join(recipients)
        msg["Subject"] = subject or f"test {uuid.uuid4().hex[:12]}"
        msg["Message-ID"] = f"<{uuid.uuid4().hex}@client.example.net>"
        msg["Date"] = email.utils.formatdate(localtime=True)
        for name, value in (headers or {}).items():
            del msg[name]  # a header given replaces the default one
            msg[name] = value
        msg.set_content(body)
        return msg

    def submit(self, user, password, recipients, sender=None, subject=None, port_name="submission", **kw):
        """Submits a new message; returns its Subject (unique, to find it again)."""
        sender = sender or user
        msg = self.message(sender, recipients, subject, **kw)
        with self.submission(user, password, port_name) as client:
            client.send_message(msg, from_addr=sender, to_addrs=recipients)
        return msg["Subject"]

    # --- reading mail -------------------------------------------------------------
    def imap(self, user, password, port_name="imap"):
        if port_name == "imaps":
            client = imaplib.IMAP4_SSL("127.0.0.1", self.port("imaps"), ssl_context=client_tls(), timeout=30)
        else:
            client = imaplib.IMAP4("127.0.0.1", self.port("imap"), timeout=30)
            client.starttls(ssl_context=client_tls())
        client.login(user, password)
        return client

    def wait_for_mail(self, user, password, subject, mailbox="INBOX", timeout=20.0, port_name="imap"):
        """The message with `subject` in `mailbox`, as an email.message.Message; fails after `timeout`."""
        deadline = time.monotonic() + timeout
        while True:
            found = self.find_mail(user, password, subject, mailbox, port_name)
            if found is not None:
                return found
            if time.monotonic() > deadline:
                raise AssertionError(f"no message '{subject}' in {user}'s {mailbox} after {timeout}s\n{self.logs()}")
            time.sleep(0.2)

    def find_mail(self, user, password, subject, mailbox="INBOX", port_name="imap"):
        client = self.imap(user, password, port_name)
        try:
            status, _ = client.select(f'"{mailbox}"', readonly=True)
            if status != "OK":
                return None
            status, data = client.search(None, "SUBJECT", f'"{subject}"')
            ids = data[0].split() if status == "OK" else []
            if not ids:
                return None
            status, parts = client.fetch(ids[-1], "(RFC822)")
            return email.message_from_bytes(parts[0][1], policy=email.policy.default)
        finally:
            client.logout()

    def pop3(self, user, password, port_name="pop3"):
        if port_name == "pop3s":
            client = poplib.POP3_SSL("127.0.0.1", self.port("pop3s"), context=client_tls(), timeout=30)
        else:
            client = poplib.POP3("127.0.0.1", self.port("pop3"), timeout=30)
            client.stls(context=client_tls())
        client.user(user)
        client.pass_(password)
        return client

    # --- the capture sink -------------------------------------------------------------
    def sink_messages(self):
        """Messages relayed out, as (envelope dict, raw message bytes), oldest first."""
        out = []
        settled = time.time() - SINK_SETTLE_SECONDS
        for path in sorted((self.dir / "sink").glob("*")):
            # smtp-sink writes as data arrives: skip a dump still being written.
            if path.is_file() and path.stat().st_mtime < settled:
                out.append(parse_sink_dump(path.read_bytes()))
        return out

    def wait_for_sink(self, predicate, timeout=20.0):
        return snmtest.wait_until(lambda: next((m for m in self.sink_messages() if predicate(m)), None),
                                  timeout=timeout, what="a message at the capture sink")


def free_port_base():
    """A port base with every sandbox listener free."""
    return snmtest.free_port_base(list(PORT_OFFSETS.values()))


def processes_inside(directory):
    """Pids whose working directory or command line is inside `directory`."""
    directory = str(directory)
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            cwd = os.readlink(entry / "cwd")
            cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        if cwd.startswith(directory) or directory in cmdline:
            found.append(int(entry.name))
    return found


def parse_sink_dump(data):
    """smtp-sink -d writes X-Client-Addr/X-Helo-Args/X-Mail-Args/X-Rcpt-Args
    lines, then the message as received. The envelope keeps the addresses
    ("<a@b>"), without ESMTP parameters such as ORCPT."""
    envelope = {"rcpt": []}
    lines = data.split(b"\n")
    index = 0
    while index < len(lines):
        line = lines[index]
        if line.startswith(b"X-Mail-Args: "):
            envelope["mail"] = line[len(b"X-Mail-Args: "):].decode().split()[0]
        elif line.startswith(b"X-Rcpt-Args: "):
            envelope["rcpt"].append(line[len(b"X-Rcpt-Args: "):].decode().split()[0])
        elif line.startswith((b"X-Client-Addr: ", b"X-Client-Proto: ", b"X-Helo-Args: ")):
            pass
        else:
            break
        index += 1
    return envelope, b"\n".join(lines[index:])
