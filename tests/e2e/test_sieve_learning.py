"""Spam/ham learning through imapsieve and lib90_sieve_snm_plugin.so, and
filing X-Spam: Yes into Junk, against real servers on 127.0.0.1: a private
redis-server and rspamd (controller on a unix socket and on a loopback port
that requires the password) and a private Dovecot loading the plugin from
the build tree (tests/e2e/sieve_support.py, rspamd_support.py).

Counting learns: rspamd's /stat "learned" grows by one per message learned
(its per-statfile "revision" is only refreshed from Redis every 30 s), and
Bayes' own per-class counters (learns_spam, learns_ham in Redis's "RS" hash)
say which class. A learn runs inside the IMAP command that triggered it; the
tests still wait for the expected counts rather than read them once. To show
that a move learned nothing, a test follows it with a move that must learn,
and waits for exactly that one learn.
"""
import imaplib
import itertools
import os
import random
import tempfile
import time
from pathlib import Path

import pytest

import rspamd_support
import sieve_support
import snmtest

USER = "alice@example.org"
PASSWORD = "alice-secret"
SPAM_LEARN = snmtest.BUILD_DIR / "sieve" / "snm-spam-learn"
# Sentences for message bodies. Bayes needs at least 11 tokens; rspamd's
# learn cache recognises a message by its tokens, which depend on the
# language it detects, so the text is plain English (random letters make the
# detected language, and so the tokens, vary from one learn to the next);
# every message picks its own sentences, so each is new to rspamd.
SENTENCES = """\
Our team will meet on Monday morning to review the quarterly budget.
Please find attached the report you asked for during the last call.
You have won a free cruise, click the link below to claim your prize now.
Cheap medication is available without a prescription from our online store.
The garden looks wonderful this spring and the roses are already blooming.
Your account has been suspended, verify your password immediately to restore it.
Could you send me the final version of the presentation before Friday?
Limited offer: double your money in one week with our secret investment plan.
The children enjoyed the museum visit and asked to go back next month.
Dear customer, your parcel could not be delivered, pay the customs fee today.
I will be out of the office until Thursday with limited access to email.
Meet attractive singles in your area tonight, registration takes one minute.
The library has extended its opening hours during the examination period.
Congratulations, you were selected for an exclusive reward from our partners.
Thank you for the lovely dinner, we should do it again after the holidays.
Lose weight fast with this amazing pill that doctors do not want you to know.""".splitlines()
_serial = itertools.count()


def make_message(subject, extra_headers=""):
    """A distinct message with enough words for Bayes; returns (message_id, bytes)."""
    n = next(_serial)
    rng = random.Random(f"{os.getpid()}-{n}-{time.time()}")
    body = "\r\n".join(rng.sample(SENTENCES, 8))
    message_id = f"<snm-sieve-{os.getpid()}-{n}@example.org>"
    text = (f"From: Sender <sender@example.net>\r\nTo: {USER}\r\nSubject: {subject} {n}\r\n"
            f"Message-ID: {message_id}\r\nDate: Tue, 25 Nov 2025 12:00:00 +0000\r\n{extra_headers}\r\n{body}\r\n")
    return message_id, text.encode()


class Servers:
    def __init__(self, directory):
        self.directory = directory
        self.redis = None
        self.rspamd = None
        self.dovecot = None

    def start(self):
        self.redis = rspamd_support.start_redis(self.directory / "redis")
        self.start_rspamd()
        password_file = self.directory / "controller.password"
        password_file.write_text(self.rspamd.password + "\n")
        os.chmod(password_file, 0o644)
        self.dovecot = sieve_support.start_dovecot(
            self.directory / "dovecot", {USER: PASSWORD},
            controller=f"unix:{self.rspamd.controller_socket}", password_file=password_file)

    def start_rspamd(self):
        self.rspamd = rspamd_support.start_rspamd(self.directory / "rspamd", self.redis.port)

    def stop(self):
        rspamd_support.stop_all(self.redis, self.rspamd, self.dovecot)

    def learn_cache_size(self):
        """How many messages rspamd's learn cache remembers (the Redis hash
        "learned_ids"). rspamd writes it after it has answered a learn, so a
        test that relies on rspamd knowing a message waits for it to grow."""
        reply = snmtest.run(["redis-cli", "-p", self.redis.port, "--raw", "hlen", "learned_ids"])
        return int(reply.stdout.strip() or 0)

    def wait_learn_cache(self, size):
        snmtest.wait_until(lambda: self.learn_cache_size() >= size, what=f"rspamd learn cache holding {size} messages")

    def wait_counts(self, learned, spam, ham):
        """Waits until counts() is (learned, spam, ham); fails naming the last
        counts seen. rspamd may update its counters a moment after it has
        answered the learn."""
        seen = []

        def reached():
            seen.append(self.counts())
            return seen[-1] == (learned, spam, ham)
        try:
            snmtest.wait_until(reached, what="learn counts")
        except TimeoutError:
            raise AssertionError(f"learn counts (learned, spam, ham) are {seen[-1]}, expected {(learned, spam, ham)}")

    def counts(self):
        """(total learned per /stat, learns_spam, learns_ham per Bayes in Redis)."""
        learned = self.rspamd.stat()["learned"]
        reply = snmtest.run(["redis-cli", "-p", self.redis.port, "--raw", "hmget", "RS", "learns_spam", "learns_ham"])
        spam, ham = (int(v) if v.strip() else 0 for v in reply.stdout.splitlines()[:2])
        return learned, spam, ham


@pytest.fixture(scope="module")
def servers(build_dir):
    sieve_support.built_plugin()
    with tempfile.TemporaryDirectory(prefix="snm-sieve-") as tmp:
        os.chmod(tmp, 0o755)
        s = Servers(Path(tmp))
        try:
            s.start()
            yield s
        finally:
            s.stop()


@pytest.fixture
def imap(servers):
    client = imaplib.IMAP4("127.0.0.1", servers.dovecot.imap_port, timeout=60)
    client.login(USER, PASSWORD)
    yield client
    client.logout()


def append(imap, mailbox, message):
    typ, data = imap.append(mailbox, None, None, message)
    assert typ == "OK", data


def uid_of(imap, mailbox, message_id):
    typ, data = imap.select(mailbox)
    assert typ == "OK", data
    typ, data = imap.uid("SEARCH", "HEADER", "Message-ID", message_id)
    assert typ == "OK", data
    uids = data[0].split()
    assert len(uids) == 1, f"{message_id} in {mailbox}: {uids}"
    return uids[0].decode()


def move(imap, message_id, source, destination):
    uid = uid_of(imap, source, message_id)
    typ, data = imap.uid("MOVE", uid, destination)
    assert typ == "OK", data
    uid_of(imap, destination, message_id)


def test_move_into_junk_learns_spam(servers, imap):
    message_id, message = make_message("cheap pills")
    append(imap, "INBOX", message)
    learned, spam, ham = servers.counts()
    move(imap, message_id, "INBOX", "Junk")
    servers.wait_counts(learned + 1, spam + 1, ham)
    servers.dovecot.wait_for_log("learn spam: rspamd learned the message")


def test_append_into_junk_learns_spam(servers, imap):
    learned, spam, ham = servers.counts()
    append(imap, "Junk", make_message("casino winner")[1])
    servers.wait_counts(learned + 1, spam + 1, ham)


def append_to_junk_learned(servers, imap, subject):
    """Appends a new message into Junk and waits until rspamd has learned it
    as spam, counters and learn cache; returns its Message-ID and the counts."""
    message_id, message = make_message(subject)
    learned, spam, ham = servers.counts()
    cached = servers.learn_cache_size()
    append(imap, "Junk", message)
    servers.wait_counts(learned + 1, spam + 1, ham)
    servers.wait_learn_cache(cached + 1)
    return message_id, (learned + 1, spam + 1, ham)


@pytest.mark.parametrize("destination", ["INBOX", "Archive"])
def test_move_out_of_junk_learns_ham(servers, imap, destination):
    message_id, (learned, spam, ham) = append_to_junk_learned(servers, imap, f"out to {destination}")
    move(imap, message_id, "Junk", destination)
    # rspamd unlearns the spam it had learned and learns ham.
    servers.wait_counts(learned + 1, spam - 1, ham + 1)


def test_move_from_junk_to_trash_learns_nothing(servers, imap):
    trashed_id, (learned, spam, ham) = append_to_junk_learned(servers, imap, "to the trash")
    move(imap, trashed_id, "Junk", "Trash")
    # A learn that must happen, after the one that must not: once it is
    # counted, the Trash move has been fully processed.
    marker_id, marker = make_message("verify password")
    append(imap, "INBOX", marker)
    move(imap, marker_id, "INBOX", "Junk")
    servers.wait_counts(learned + 1, spam + 1, ham)


def test_copy_within_other_folders_learns_nothing(servers, imap):
    message_id, message = make_message("garden holiday")
    append(imap, "INBOX", message)
    learned, spam, ham = servers.counts()
    move(imap, message_id, "INBOX", "Archive")
    move(imap, message_id, "Archive", "Trash")
    marker_id, marker = make_message("bank prize")
    append(imap, "Junk", marker)
    servers.wait_counts(learned + 1, spam + 1, ham)


def test_global_script_files_x_spam_into_junk(servers, imap):
    spam_id, spam = make_message("flagged", extra_headers="X-Spam: Yes\r\n")
    clean_id, clean = make_message("clean")
    servers.dovecot.deliver(USER, spam)
    servers.dovecot.deliver(USER, clean)
    uid_of(imap, "Junk", spam_id)
    uid_of(imap, "INBOX", clean_id)
    typ, data = imap.select("INBOX")
    typ, data = imap.uid("SEARCH", "HEADER", "Message-ID", spam_id)
    assert data[0].split() == [], "an X-Spam: Yes message landed in INBOX"


def test_spam_learn_teaches_a_maildir_folder(servers, tmp_path):
    folder = tmp_path / "Maildir" / ".Spam"
    for sub in ("cur", "new", "tmp"):
        (folder / sub).mkdir(parents=True)
    for i in range(3):
        (folder / ("cur" if i else "new") / f"{i}.snm:2,S").write_bytes(make_message("bulk")[1])
    (folder / "tmp" / "partial").write_bytes(b"not a finished message")
    password_file = tmp_path / "password"
    password_file.write_text(servers.rspamd.password + "\n")
    # Over TCP, where rspamd requires the password (no secure_ip matches).
    argv = [SPAM_LEARN, "--controller", f"inet:127.0.0.1:{servers.rspamd.controller_port}",
            "--password-file", password_file, "spam", USER, folder]
    learned, spam, ham = servers.counts()
    cached = servers.learn_cache_size()
    first = snmtest.run(argv)
    assert "3 messages: 3 learned as spam, 0 already learned, 0 failed" in first.stdout
    servers.wait_counts(learned + 3, spam + 3, ham)
    servers.wait_learn_cache(cached + 3)
    again = snmtest.run(argv)
    assert "3 messages: 0 learned as spam, 3 already learned, 0 failed" in again.stdout


def test_spam_learn_reports_a_wrong_password(servers, tmp_path):
    password_file = tmp_path / "password"
    password_file.write_text("not-the-password\n")
    result = snmtest.run([SPAM_LEARN, "--controller", f"inet:127.0.0.1:{servers.rspamd.controller_port}",
                          "--password-file", password_file, "ham"],
                         check=False, input=make_message("stdin")[1].decode())
    assert result.returncode == 1, result
    assert "1 message: 0 learned as ham, 0 already learned, 1 failed" in result.stdout
    assert "rspamd controller refused access (HTTP 401: Unauthorized); check the controller password" \
        in result.stderr


def test_rspamd_down_move_still_succeeds_and_is_logged(servers, imap):
    message_id, message = make_message("offer discount")
    append(imap, "INBOX", message)
    servers.rspamd.stop()
    try:
        move(imap, message_id, "INBOX", "Junk")
        failure = servers.dovecot.wait_for_log(
            "learn spam: not learned (the mail operation is unaffected): "
            f"cannot connect to rspamd controller unix:{servers.rspamd.controller_socket}")
        assert ": Error: sieve: " in failure
    finally:
        servers.start_rspamd()
    # Learning works again once rspamd is back.
    learned, spam, ham = servers.counts()
    move(imap, message_id, "Junk", "INBOX")
    servers.wait_counts(learned + 1, spam, ham + 1)


def test_bad_settings_and_bad_class_fail_at_compile_time(servers, tmp_path):
    """sievec (run by snmctl apply) refuses a script requiring vnd.snm.learn
    while snm_learn_controller is wrong, naming it, and refuses a class other
    than spam or ham."""
    config = servers.dovecot.config.read_text()
    bad_config = tmp_path / "dovecot.conf"
    bad_config.write_text(config + "plugin {\n  snm_learn_controller = localhost:11334\n}\n")
    script = tmp_path / "learn.sieve"
    script.write_text('require "vnd.snm.learn";\nlearn "spam";\n')
    result = snmtest.run([sieve_support.SIEVEC, "-c", bad_config, script], check=False)
    assert result.returncode != 0
    assert "vnd.snm.learn cannot be used: rspamd controller: socket `localhost:11334`" in result.stderr

    script.write_text('require "vnd.snm.learn";\nlearn "junk";\n')
    result = snmtest.run([sieve_support.SIEVEC, "-c", servers.dovecot.config, script], check=False)
    assert result.returncode != 0
    assert 'learn: the class must be "spam" or "ham", not "junk"' in result.stderr
