"""A private ACME CA for end-to-end tests: Debian's `pebble` (the ACME test
server of Let's Encrypt's Boulder team) and `pebble-challtestsrv` (its DNS
server, answering every A query with 127.0.0.1), both on free loopback
ports, stopped by pid.

Pebble validates http-01 at http://<name>:<http_port>/, so a test points
`http_port` at what answers the challenge (the sandbox's port N+80, or a
web server serving the webroot). lego trusts Pebble's HTTPS listener
through LEGO_CA_CERTIFICATES = `ca_file` (a CA made here with openssl).

Usage:
    with Pebble(tmp_path, http_port) as pebble:
        env = pebble.client_environment()
        root = pebble.issuing_root()   # PEM of the root it signs with
"""
import json
import os
import ssl
import urllib.request

import snmtest


class Pebble:
    def __init__(self, directory, http_port):
        self.dir = directory
        self.http_port = http_port
        self.processes = []

    def __enter__(self):
        self.start()
        return self

    def __exit__(self, *exc):
        self.stop()

    # --- lifecycle ---------------------------------------------------------
    def start(self):
        self.dir.mkdir(parents=True, exist_ok=True)
        self.ca_file = self.dir / "ca.pem"
        self._make_listener_certificate()
        self.acme_port, self.management_port, dns_port, challenge_management_port = (
            snmtest.free_port() for _ in range(4))
        self.processes.append(snmtest.Process(
            ["pebble-challtestsrv", "-dns01", f"127.0.0.1:{dns_port}", "-http01", "", "-https01", "",
             "-tlsalpn01", "", "-management", f"127.0.0.1:{challenge_management_port}",
             "-defaultIPv4", "127.0.0.1", "-defaultIPv6", ""],
            log_path=self.dir / "challtestsrv.log"))
        config = self.dir / "pebble.json"
        config.write_text(json.dumps({"pebble": {
            "listenAddress": f"127.0.0.1:{self.acme_port}",
            "managementListenAddress": f"127.0.0.1:{self.management_port}",
            "certificate": str(self.dir / "listener.pem"),
            "privateKey": str(self.dir / "listener.key"),
            "httpPort": self.http_port,
            "tlsPort": snmtest.free_port(),
            "ocspResponderURL": "",
            "externalAccountBindingRequired": False,
        }}))
        # No sleeping before validation, no nonce rejection: a fast, deterministic CA.
        env = dict(os.environ, PEBBLE_VA_NOSLEEP="1", PEBBLE_WFE_NONCEREJECT="0")
        self.processes.append(snmtest.Process(
            ["pebble", "-config", config, "-dnsserver", f"127.0.0.1:{dns_port}"],
            log_path=self.dir / "pebble.log", env=env))
        snmtest.wait_for_port(dns_port)
        snmtest.wait_for_port(self.acme_port)
        snmtest.wait_for_port(self.management_port)

    def stop(self):
        for process in reversed(self.processes):
            process.stop()
        self.processes = []

    def _make_listener_certificate(self):
        """A CA and a certificate for 127.0.0.1 signed by it: Pebble's HTTPS listener."""
        ca_key = self.dir / "ca.key"
        snmtest.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
                     "-keyout", ca_key, "-out", self.ca_file, "-days", "2", "-subj", "/CN=snm test Pebble listener CA"])
        csr = self.dir / "listener.csr"
        snmtest.run(["openssl", "req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
                     "-keyout", self.dir / "listener.key", "-out", csr, "-subj", "/CN=127.0.0.1"])
        extensions = self.dir / "listener.ext"
        extensions.write_text("subjectAltName = IP:127.0.0.1, DNS:localhost\n")
        snmtest.run(["openssl", "x509", "-req", "-in", csr, "-CA", self.ca_file, "-CAkey", ca_key,
                     "-CAcreateserial", "-out", self.dir / "listener.pem", "-days", "2", "-extfile", extensions])

    # --- what clients need ------------------------------------------------------
    @property
    def directory_url(self):
        return f"https://127.0.0.1:{self.acme_port}/dir"

    def client_environment(self):
        """The environment for `snmctl` (and so lego) to trust this Pebble."""
        return dict(os.environ, LEGO_CA_CERTIFICATES=str(self.ca_file))

    def issuing_root(self):
        """The PEM of the root certificate Pebble signs with (new on each start)."""
        context = ssl.create_default_context(cafile=str(self.ca_file))
        with urllib.request.urlopen(f"https://127.0.0.1:{self.management_port}/roots/0", context=context,
                                    timeout=10) as response:
            return response.read().decode()

    def logs(self):
        return "\n".join(f"--- {p.log_path.name}\n" + p.log()[-3000:] for p in self.processes)
