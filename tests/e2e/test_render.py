"""What `snmctl apply` renders is accepted by Postfix's and Dovecot's own
checkers, with no warning, for the example, the acceptance and the seed
configurations."""
from pathlib import Path

import pytest

import snmtest

CONFIGS = {
    "example": snmtest.SOURCE_ROOT / "contrib" / "examples" / "snm.toml",
    "acceptance": Path(__file__).parent / "data" / "acceptance.toml",
}


@pytest.mark.parametrize("name", sorted(CONFIGS))
def test_postfix_check_and_doveconf_accept_the_rendered_config(build_dir, tmp_path, name):
    snmtest.snmctl("apply", "-q", "-c", CONFIGS[name], "--root", tmp_path)
    postfix_dir = tmp_path / "etc" / "postfix"
    # Postfix's own directories, as the sandbox or the package creates them.
    (tmp_path / "var" / "spool" / "postfix").mkdir(parents=True, exist_ok=True)
    (tmp_path / "var" / "lib" / "postfix").mkdir(parents=True, exist_ok=True)
    check = snmtest.run(["postfix", "-c", postfix_dir, "check"], check=False)
    assert check.returncode == 0, check.stderr
    assert "warning" not in check.stderr, check.stderr
    doveconf = snmtest.run(["doveconf", "-n", "-c", tmp_path / "etc" / "dovecot" / "dovecot.conf"],
                           check=False)
    assert doveconf.returncode == 0, doveconf.stderr
    assert "driver = snm" in doveconf.stdout


def test_rendered_files_say_where_they_come_from(build_dir, tmp_path):
    snmtest.snmctl("apply", "-q", "-c", CONFIGS["example"], "--root", tmp_path)
    for path in ("etc/postfix/main.cf", "etc/postfix/master.cf", "etc/dovecot/dovecot.conf"):
        head = (tmp_path / path).read_text().splitlines()[0]
        assert "rendered by snmctl from" in head and str(CONFIGS["example"]) in head


def test_disabled_services_are_not_rendered(build_dir, tmp_path):
    config = tmp_path / "off.toml"
    config.write_text(CONFIGS["example"].read_text().replace("enableSubmissionSsl = true", "enableSubmissionSsl = false"))
    snmtest.snmctl("apply", "-q", "-c", config, "--root", tmp_path / "root")
    master = (tmp_path / "root" / "etc" / "postfix" / "master.cf").read_text()
    assert "submissions" not in master.replace("# Submission over implicit TLS.", "")
    assert "\nsubmission " in master


def test_postfix_reads_the_public_mx_hardening(build_dir, tmp_path):
    """Postfix itself (postconf) reads the smuggling defence, VRFY off, TLS
    before AUTH and the anvil limits from the rendered main.cf."""
    config = tmp_path / "limits.toml"
    config.write_text('smtpdForbidBareNewline = true\n' + CONFIGS["example"].read_text()
                      + '\n[clientRateLimits]\nmessages = 0\nallowNetworks = ["198.51.100.0/24", "2001:db8::/32"]\n')
    snmtest.snmctl("apply", "-q", "-c", config, "--root", tmp_path / "root")
    postfix_dir = tmp_path / "root" / "etc" / "postfix"
    expected = {
        "smtpd_forbid_bare_newline": "reject",
        "smtpd_forbid_bare_newline_exclusions": "$mynetworks",
        "disable_vrfy_command": "yes",
        "smtpd_tls_auth_only": "yes",
        "smtpd_client_connection_rate_limit": "60",
        "smtpd_client_connection_count_limit": "20",
        "smtpd_client_message_rate_limit": "0",
        "smtpd_client_auth_rate_limit": "30",
        "smtpd_client_event_limit_exceptions": "$mynetworks 198.51.100.0/24 [2001:db8::]/32",
    }
    for name, value in expected.items():
        shown = snmtest.run(["postconf", "-c", postfix_dir, "-h", name]).stdout.strip()
        assert shown == value, name


def test_only_snm_policyd_decides_sender_ownership(build_dir, tmp_path):
    """Which login may use which envelope sender is decided by snm-policyd's
    sender policy only: no smtpd_sender_login_maps, no *_login_mismatch."""
    snmtest.snmctl("apply", "-q", "-c", CONFIGS["example"], "--root", tmp_path)
    postfix_dir = tmp_path / "etc" / "postfix"
    main = snmtest.run(["postconf", "-c", postfix_dir, "-n"]).stdout
    services = snmtest.run(["postconf", "-c", postfix_dir, "-P"]).stdout
    assert "smtpd_sender_login_maps" not in main
    assert "login_mismatch" not in main + services
    for service in ("submission", "submissions"):
        assert f"{service}/inet/smtpd_sender_restrictions = reject_non_fqdn_sender,$snm_sender_policy" in services
    assert "policy_context=sender" in snmtest.run(["postconf", "-c", postfix_dir, "-h", "snm_sender_policy"]).stdout


def doveconf(conf, name, filter_=None):
    """One setting as Dovecot itself reads it from `conf` (doveconf -h)."""
    argv = ["doveconf", "-c", conf, "-h", *(["-f", filter_] if filter_ else []), name]
    return snmtest.run(argv).stdout.strip()


def applied(tmp_path, options):
    """The example configuration with `options` (top-level TOML lines) in
    front, applied under tmp_path/root; returns the root."""
    tmp_path.mkdir(parents=True, exist_ok=True)
    config = tmp_path / "snm.toml"
    config.write_text(options + CONFIGS["example"].read_text())
    snmtest.snmctl("apply", "-q", "-c", config, "--root", tmp_path / "root")
    return tmp_path / "root"


def test_dovecot_reads_snms_connection_and_memory_limits(build_dir, tmp_path):
    """maxConnectionsPerUser for IMAP and POP3, and the three memory limits,
    as Dovecot reads them from the rendered dovecot.conf."""
    defaults = applied(tmp_path / "defaults", "") / "etc" / "dovecot" / "dovecot.conf"
    for protocol in ("imap", "pop3"):
        assert doveconf(defaults, "mail_max_userip_connections", f"protocol={protocol}") == "100"
    for service in ("imap", "lmtp", "quota-status"):
        assert doveconf(defaults, f"service/{service}/vsz_limit") == "256 M"

    conf = applied(tmp_path / "set", "maxConnectionsPerUser = 7\nimapMemoryLimit = 1024\n"
                                     "lmtpMemoryLimit = 0\nquotaStatusMemoryLimit = 64\n") / "etc" / "dovecot" / "dovecot.conf"
    assert doveconf(conf, "mail_max_userip_connections", "protocol=imap") == "7"
    assert doveconf(conf, "mail_max_userip_connections", "protocol=pop3") == "7"
    assert doveconf(conf, "service/imap/vsz_limit") == "1 G"
    assert doveconf(conf, "service/lmtp/vsz_limit") == "0"  # Dovecot's "no limit"
    assert doveconf(conf, "service/quota-status/vsz_limit") == "64 M"


def test_postfix_helo_name_is_sending_fqdn(build_dir, tmp_path):
    """sendingFqdn is the name Postfix's SMTP client gives in HELO; the
    server keeps fqdn for its own greeting."""
    default = applied(tmp_path / "defaults", "") / "etc" / "postfix"
    assert snmtest.run(["postconf", "-c", default, "-hx", "smtp_helo_name"]).stdout.strip() == "mail.example.com"
    postfix_dir = applied(tmp_path / "set", 'sendingFqdn = "Out.Example.net"\n') / "etc" / "postfix"
    assert snmtest.run(["postconf", "-c", postfix_dir, "-h", "smtp_helo_name"]).stdout.strip() == "out.example.net"
    assert snmtest.run(["postconf", "-c", postfix_dir, "-h", "myhostname"]).stdout.strip() == "mail.example.com"


def submission_header_checks(postfix_dir):
    """The header_checks table the submission services' cleanup uses, as
    Postfix names it in master.cf."""
    services = snmtest.run(["postconf", "-c", postfix_dir, "-P"]).stdout
    line = next(l for l in services.splitlines() if l.startswith("submission-header-cleanup/unix/header_checks ="))
    return line.split("=", 1)[1].strip()


def test_rewrite_message_id_replaces_the_clients_host_with_fqdn(build_dir, tmp_path):
    """rewriteMessageId: Postfix's own table lookup (postmap -q on the
    header_checks submitted mail goes through) replaces the host part of
    the Message-ID with fqdn, keeps the local part, and leaves the rule out
    when the option is off."""
    header = "Message-ID: <20240101.abc$123@laptop.home.example.net>"
    table = submission_header_checks(applied(tmp_path / "on", "rewriteMessageId = true\n") / "etc" / "postfix")
    assert snmtest.run(["postmap", "-q", header, table]).stdout.strip() == \
        "REPLACE Message-ID: <20240101.abc$123@mail.example.com>"
    assert snmtest.run(["postmap", "-q", "message-id:<x@y>", table]).stdout.strip() == \
        "REPLACE Message-ID: <x@mail.example.com>"
    assert snmtest.run(["postmap", "-q", "In-Reply-To: <x@y>", table], check=False).returncode == 1
    off = submission_header_checks(applied(tmp_path / "off", "") / "etc" / "postfix")
    assert snmtest.run(["postmap", "-q", header, off], check=False).returncode == 1
