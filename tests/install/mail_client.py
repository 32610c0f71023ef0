"""The install test's mail client, run by the host's Python inside the
namespace's network only (`nsenter --net=… python3 mail_client.py …`): the
server's listeners are on that network's loopback, nowhere else.

    mail_client.py submit USER PASSWORD RECIPIENT SUBJECT   # 587, STARTTLS, AUTH
    mail_client.py fetch USER PASSWORD SUBJECT TIMEOUT      # IMAP 143, STARTTLS
    mail_client.py imap-login USER PASSWORD
    mail_client.py smtp-auth USER PASSWORD

Each prints one JSON object on stdout: `fetch` the message's bytes in
base64, the others whether the server said yes and what it answered. A
protocol failure other than a refused login is an exception (exit 1, with
the traceback).
"""
import base64
import email.utils
import imaplib
import json
import smtplib
import ssl
import sys
import time
import uuid
from email.message import EmailMessage

SERVER = "127.0.0.1"
SUBMISSION_PORT = 587
IMAP_PORT = 143
# Seconds for one network operation.
SOCKET_TIMEOUT = 30
CLIENT_NAME = "client.example.net"


def tls():
    """snm's certificate here is self-signed: the test checks that TLS is used, not who signed it."""
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    return context


def submission():
    client = smtplib.SMTP(SERVER, SUBMISSION_PORT, timeout=SOCKET_TIMEOUT)
    client.ehlo(CLIENT_NAME)
    if not client.has_extn("starttls"):
        raise AssertionError(f"port {SUBMISSION_PORT} offers no STARTTLS: {client.esmtp_features}")
    client.starttls(context=tls())
    client.ehlo(CLIENT_NAME)
    return client


def submit(user, password, recipient, subject):
    message = EmailMessage()
    message["From"] = user
    message["To"] = recipient
    message["Subject"] = subject
    message["Message-ID"] = f"<{uuid.uuid4().hex}@{CLIENT_NAME}>"
    message["Date"] = email.utils.formatdate(localtime=True)
    message.set_content("Hello from snm's Debian install test.\n")
    with submission() as client:
        client.login(user, password)
        refused = client.send_message(message, from_addr=user, to_addrs=[recipient])
    return {"accepted": not refused, "refused": {k: list(v) for k, v in refused.items()}}


def smtp_auth(user, password):
    with submission() as client:
        try:
            code, reply = client.login(user, password)
        except smtplib.SMTPAuthenticationError as refusal:
            return {"ok": False, "reply": f"{refusal.smtp_code} {refusal.smtp_error.decode(errors='replace')}"}
    return {"ok": True, "reply": f"{code} {reply.decode(errors='replace')}"}


def imap(user, password):
    client = imaplib.IMAP4(SERVER, IMAP_PORT, timeout=SOCKET_TIMEOUT)
    client.starttls(ssl_context=tls())
    client.login(user, password)
    return client


def imap_login(user, password):
    try:
        client = imap(user, password)
    except imaplib.IMAP4.error as refusal:
        return {"ok": False, "reply": str(refusal)}
    client.logout()
    return {"ok": True, "reply": "logged in"}


def fetch(user, password, subject, timeout):
    deadline = time.monotonic() + float(timeout)
    while True:
        client = imap(user, password)
        try:
            client.select("INBOX", readonly=True)
            status, data = client.search(None, "SUBJECT", f'"{subject}"')
            ids = data[0].split() if status == "OK" else []
            if ids:
                _, parts = client.fetch(ids[-1], "(RFC822)")
                return {"message": base64.b64encode(parts[0][1]).decode()}
        finally:
            client.logout()
        if time.monotonic() > deadline:
            return {"message": None}
        time.sleep(0.3)


COMMANDS = {"submit": submit, "fetch": fetch, "imap-login": imap_login, "smtp-auth": smtp_auth}

if __name__ == "__main__":
    print(json.dumps(COMMANDS[sys.argv[1]](*sys.argv[2:])))
