"""Certificates: `selfsigned` is made once and kept; `manual` files are
checked (readable, key matches certificate, not expired, names the fqdn)
and a bad pair changes nothing."""
import subprocess

import pytest

import snmtest

EXAMPLE = snmtest.SOURCE_ROOT / "contrib" / "examples" / "snm.toml"


def openssl_pair(directory, name, cn="mail.example.com", days=30):
    key, cert = directory / f"{name}.key", directory / f"{name}.pem"
    args = ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", key, "-out", cert,
            "-subj", f"/CN={cn}", "-addext", f"subjectAltName=DNS:{cn}"]
    args += ["-days", str(days)]
    snmtest.run(args)
    return key, cert


def manual_config(tmp_path, key, cert):
    config = tmp_path / "manual.toml"
    config.write_text(EXAMPLE.read_text().replace(
        'certificateScheme = "selfsigned"',
        f'certificateScheme = "manual"\ncertificateFile = "{cert}"\nkeyFile = "{key}"'))
    return config


def test_selfsigned_certificate_is_made_once_for_the_fqdn(build_dir, tmp_path):
    first = snmtest.snmctl("apply", "-c", EXAMPLE, "--root", tmp_path).stdout
    assert "created a self-signed certificate for mail.example.com" in first
    cert = tmp_path / "var" / "lib" / "snm" / "certs" / "cert-mail.example.com.pem"
    text = snmtest.run(["openssl", "x509", "-in", cert, "-noout", "-subject", "-ext", "subjectAltName"]).stdout
    assert "CN = mail.example.com" in text and "DNS:mail.example.com" in text
    key = tmp_path / "var" / "lib" / "snm" / "certs" / "key-mail.example.com.pem"
    assert oct(key.stat().st_mode & 0o777) == "0o600"
    second = snmtest.snmctl("apply", "-c", EXAMPLE, "--root", tmp_path).stdout
    assert "kept " + str(cert) in second


def test_manual_certificate_is_checked_and_used(build_dir, tmp_path):
    key, cert = openssl_pair(tmp_path, "good")
    result = snmtest.snmctl("apply", "-c", manual_config(tmp_path, key, cert), "--root", tmp_path / "root")
    assert f"checked {cert}" in result.stdout
    main_cf = (tmp_path / "root" / "etc" / "postfix" / "main.cf").read_text()
    assert f"smtpd_tls_chain_files = {key}, {cert}" in main_cf
    dovecot = (tmp_path / "root" / "etc" / "dovecot" / "dovecot.conf").read_text()
    assert f"ssl_cert = <{cert}" in dovecot


@pytest.mark.parametrize("problem", ["mismatched key", "wrong name", "missing file"])
def test_bad_manual_certificate_is_refused_and_changes_nothing(build_dir, tmp_path, problem):
    key, cert = openssl_pair(tmp_path, "good")
    other_key, other_cert = openssl_pair(tmp_path, "other", cn="other.example.org")
    expected = {
        "mismatched key": (other_key, cert, "does not belong to certificateFile"),
        "wrong name": (other_key, other_cert, "is not valid for fqdn mail.example.com"),
        "missing file": (key, tmp_path / "absent.pem", "cannot read certificate"),
    }[problem]
    result = snmtest.snmctl("apply", "-c", manual_config(tmp_path, expected[0], expected[1]),
                            "--root", tmp_path / "root", check=False)
    assert result.returncode == 1
    assert expected[2] in result.stderr and "nothing was changed" in result.stderr
    assert not (tmp_path / "root" / "var" / "lib" / "snm" / "accounts.cdb").exists()
