"""ACME end to end against Pebble, a private ACME CA on loopback.

* certificateScheme "acme-nginx" (SNM's 3): the sandbox obtains its
  certificate from Pebble with lego answering http-01 on port N+80;
  Postfix (587 STARTTLS, 465) and Dovecot (993, 143 STARTTLS) present the
  chain Pebble issued; `snmctl cert renew --force` replaces it while a
  client loops connections without one failing; a renewal against a
  stopped Pebble fails clearly and the old certificate stays in service.
* certificateScheme "acme": a certificate another ACME client (lego, run
  by the test) keeps is deployed, and its renewal picked up by
  `snmctl cert renew`.
* SNM's README example applies with its scheme 3 pointed at Pebble,
  through a webroot a web server already serves.

Certificates are verified with Python's ssl against Pebble's root.
"""
import socket
import ssl
import subprocess
import threading
import time

import pytest

import snmtest
from acme_support import Pebble
from sandbox_support import Sandbox, free_port_base

FQDN = "mail.example.com"
EXAMPLE = snmtest.SOURCE_ROOT / "contrib" / "examples" / "snm.toml"
SEED = snmtest.SOURCE_ROOT / "tests" / "data" / "seed-readme.toml"
# How each listener is reached: implicit TLS or the protocol's STARTTLS.
LISTENERS = ["submission", "submissions", "imaps", "imap"]


def verifying_context(root_pem):
    context = ssl.create_default_context(cadata=root_pem)
    context.check_hostname = True
    return context


def served_serial(sandbox, name, root_pem):
    """The serial of the certificate `name` presents, after verifying the
    chain against `root_pem` and the fqdn (raises ssl.SSLError if not)."""
    with socket.create_connection(("127.0.0.1", sandbox.port(name)), timeout=10) as raw:
        if name == "submission":
            stream = raw.makefile("rwb")
            expect(stream, b"220")
            stream.write(b"EHLO client.example.net\r\n"), stream.flush()
            while not stream.readline().startswith(b"250 "):
                pass
            stream.write(b"STARTTLS\r\n"), stream.flush()
            expect(stream, b"220")
        elif name == "imap":
            stream = raw.makefile("rwb")
            expect(stream, b"* OK")
            stream.write(b"a STARTTLS\r\n"), stream.flush()
            expect(stream, b"a OK")
        with verifying_context(root_pem).wrap_socket(raw, server_hostname=FQDN) as tls:
            return tls.getpeercert()["serialNumber"]


def expect(stream, prefix):
    line = stream.readline()
    assert line.startswith(prefix), line


def serials(sandbox, root_pem):
    return {name: served_serial(sandbox, name, root_pem) for name in LISTENERS}


class ConnectionLoop:
    """Connects to 465 and 993 over and over, verifying each handshake;
    records the serials seen and every failure."""

    def __init__(self, sandbox, root_pem):
        self.sandbox, self.root_pem = sandbox, root_pem
        self.seen, self.failures, self.connections = set(), [], 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join(timeout=30)

    def _run(self):
        while not self._stop.is_set():
            for name in ("submissions", "imaps"):
                try:
                    self.seen.add(served_serial(self.sandbox, name, self.root_pem))
                except (OSError, AssertionError) as error:
                    self.failures.append(f"{name}: {error!r}")
                self.connections += 1


def cert_command(action, config, sandbox, env, *extra):
    return snmtest.snmctl("cert", action, "-c", config, "--sandbox", sandbox.dir, *extra, env=env, check=False,
                          timeout=180)


def test_acme_nginx_obtains_renews_and_survives_a_dead_ca(build_dir, tmp_path, monkeypatch):
    port_base = free_port_base()
    with Pebble(tmp_path / "pebble", http_port=port_base + 80) as pebble:
        config = tmp_path / "acme-nginx.toml"
        config.write_text(EXAMPLE.read_text().replace(
            'certificateScheme = "selfsigned"',
            f'certificateScheme = "acme-nginx"\nacmeServer = "{pebble.directory_url}"\n'
            f'acmeEmail = "hostmaster@example.com"'))
        env = pebble.client_environment()
        monkeypatch.setenv("LEGO_CA_CERTIFICATES", env["LEGO_CA_CERTIFICATES"])
        with Sandbox(config, port_base=port_base) as sandbox:
            root = pebble.issuing_root()
            first = serials(sandbox, root)
            assert len(set(first.values())) == 1, first  # one certificate on every listener

            status = cert_command("status", config, sandbox, env)
            assert status.returncode == 0, status.stderr
            assert "Pebble Intermediate" in status.stdout and f"names      {FQDN}" in status.stdout
            assert f"serial     {first['imaps']}" in status.stdout

            with ConnectionLoop(sandbox, root) as loop:
                time.sleep(0.5)
                renewed = cert_command("renew", config, sandbox, env, "--force")
                assert renewed.returncode == 0, renewed.stdout + renewed.stderr + pebble.logs()
                assert "deployed the certificate from" in renewed.stdout
                assert "reloaded Postfix" in renewed.stdout and "reloaded Dovecot" in renewed.stdout
                second = snmtest.wait_until(
                    lambda: (s := serials(sandbox, root)) and set(s.values()) != {first["imaps"]} and
                    len(set(s.values())) == 1 and s, timeout=30, what="the renewed certificate on every listener")
                time.sleep(0.5)
            assert not loop.failures, loop.failures[:5]
            assert loop.connections > 10 and loop.seen == {first["imaps"], second["imaps"]}, loop.seen

            # Without --force a certificate Pebble issued for 5 years is not due.
            kept = cert_command("renew", config, sandbox, env)
            assert kept.returncode == 0 and "kept" in kept.stdout and "reloaded" not in kept.stdout, kept.stdout

            pebble.stop()
            failed = cert_command("renew", config, sandbox, env, "--force")
            assert failed.returncode == 1
            assert f"lego could not obtain a certificate for {FQDN} from {pebble.directory_url}" in failed.stderr
            assert "the certificate in service is unchanged" in failed.stderr
            assert serials(sandbox, root) == second


def run_lego(pebble, store, http_port, env):
    """lego as the other ACME client: obtains (again) the fqdn's certificate."""
    snmtest.run(["lego", "--path", store, "--server", pebble.directory_url, "--accept-tos", "--email",
                 "hostmaster@example.com", "--domains", FQDN, "--http", "--http.port", f"127.0.0.1:{http_port}",
                 "run"], env=env, timeout=180)


def publish_like_certbot(store, live):
    """The other client's files where certificateScheme "acme" looks: <dir>/<name>/{fullchain,privkey}.pem."""
    (live / FQDN).mkdir(parents=True, exist_ok=True)
    for source, target in ((f"{FQDN}.crt", "fullchain.pem"), (f"{FQDN}.key", "privkey.pem")):
        (live / FQDN / target).write_bytes((store / "certificates" / source).read_bytes())


def test_acme_deploys_and_reloads_what_another_client_renews(build_dir, tmp_path):
    port_base = free_port_base()
    store, live = tmp_path / "lego", tmp_path / "live"
    with Pebble(tmp_path / "pebble", http_port=port_base + 80) as pebble:
        env = pebble.client_environment()
        run_lego(pebble, store, port_base + 80, env)
        publish_like_certbot(store, live)
        config = tmp_path / "acme.toml"
        config.write_text(EXAMPLE.read_text().replace(
            'certificateScheme = "selfsigned"',
            f'certificateScheme = "acme"\nacmeCertificateDirectory = "{live}"'))
        with Sandbox(config, port_base=port_base) as sandbox:
            root = pebble.issuing_root()
            first = serials(sandbox, root)
            assert len(set(first.values())) == 1, first

            unchanged = cert_command("renew", config, sandbox, env)
            assert unchanged.returncode == 0 and "kept" in unchanged.stdout, unchanged.stdout

            run_lego(pebble, store, port_base + 80, env)
            publish_like_certbot(store, live)
            renewed = cert_command("renew", config, sandbox, env)
            assert renewed.returncode == 0, renewed.stderr
            assert f"deployed the certificate from {live / FQDN}" in renewed.stdout
            # Postfix's processes of the old generation exit "at their earliest
            # convenience" after a reload: wait for every listener to agree.
            second = snmtest.wait_until(
                lambda: (s := serials(sandbox, root)) and set(s.values()) != {first["imaps"]} and
                len(set(s.values())) == 1 and s, timeout=30, what="the other client's new certificate on every listener")

            (live / FQDN / "privkey.pem").write_text("not a key\n")
            broken = cert_command("renew", config, sandbox, env)
            assert broken.returncode == 1 and "holds no PEM private key" in broken.stderr, broken.stderr
            assert serials(sandbox, root) == second


def test_snm_readme_example_checks_and_applies_with_acme_against_pebble(build_dir, tmp_path):
    check = snmtest.snmctl("check", "-c", SEED, check=False)
    assert check.returncode == 0, check.stderr
    assert "error" not in check.stderr and "`certificateScheme = 3` is deprecated" in check.stderr

    # A web server already holds port 80: lego writes the challenge into its root.
    webroot, http_port = tmp_path / "www", snmtest.free_port()
    webroot.mkdir()
    web = snmtest.Process(["/usr/bin/python3", "-m", "http.server", "--bind", "127.0.0.1", "--directory", webroot,
                           str(http_port)], log_path=tmp_path / "www.log")
    try:
        snmtest.wait_for_port(http_port)
        with Pebble(tmp_path / "pebble", http_port=http_port) as pebble:
            config = tmp_path / "seed-acme.toml"
            config.write_text(SEED.read_text().replace(
                "certificateScheme = 3\n",
                f'certificateScheme = 3\nacmeServer = "{pebble.directory_url}"\nacmeWebroot = "{webroot}"\n'))
            root = tmp_path / "root"
            applied = snmtest.snmctl("apply", "-c", config, "--root", root, env=pebble.client_environment(),
                                     check=False, timeout=180)
            assert applied.returncode == 0, applied.stdout + applied.stderr + pebble.logs()
            assert "deployed the certificate from" in applied.stdout

            certs = root / "var" / "lib" / "snm" / "certs"
            chain, key = certs / f"cert-{FQDN}.pem", certs / f"key-{FQDN}.pem"
            assert oct(key.stat().st_mode & 0o777) == "0o600"
            verified = subprocess.run(["openssl", "verify", "-CAfile", "/dev/stdin", "-untrusted", chain,
                                       "-verify_hostname", FQDN, chain], input=pebble.issuing_root(),
                                      capture_output=True, text=True)
            assert verified.returncode == 0, verified.stdout + verified.stderr
            main_cf = (root / "etc" / "postfix" / "main.cf").read_text()
            assert f"smtpd_tls_chain_files = {key}\n" in main_cf
            dovecot = (root / "etc" / "dovecot" / "dovecot.conf").read_text()
            assert f"ssl_cert = <{chain}" in dovecot and f"ssl_key = <{key}" in dovecot
            assert "GET /.well-known/acme-challenge/" in web.log()

            again = snmtest.snmctl("apply", "-c", config, "--root", root, env=pebble.client_environment(),
                                   check=False, timeout=180)
            assert again.returncode == 0 and f"kept {chain}" in again.stdout, again.stdout + again.stderr
    finally:
        web.stop()
