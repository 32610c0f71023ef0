#!/usr/bin/python3
"""snmctl as a program: `check` exit codes and file:line:col errors,
`apply` writing the snapshots all or nothing, `passwd` hashes that
Dovecot's own `doveadm pw -t` verifies, `dkim rotate` making successor keys
and a configuration change that `check` and `dkim list` accept; and the
command line snmctl shares with every other snm program (--help, --version,
usage errors).

Usage: test_snmctl.py SNMCTL SOURCE_ROOT [PROGRAM...]
  PROGRAM: the other snm programs (snm-policyd, snm-dkim-milter, snm-spam-learn)
"""
import datetime
import os
import re
import shutil
import stat
import subprocess
import sys
import tempfile
import unittest

SNMCTL = sys.argv[1]
SOURCE = sys.argv[2]
PROGRAMS = [SNMCTL, *sys.argv[3:]]
SEED = os.path.join(SOURCE, "tests", "data", "seed-readme.toml")
EXAMPLE = os.path.join(SOURCE, "contrib", "examples", "snm.toml")
HASH = "$6$/z4n8AQl6K$kiOkBTWlZfBd7PvF5GsJ8PmPgdZsFGN1jPGZufxxr60PoR0oUsrvzm2oQiflyz5ir9fFJ.d/zKm/NgLXNUsNX/"


def snmctl(*args, stdin=None, env=None):
    return subprocess.run([SNMCTL, *args], input=stdin, capture_output=True, text=True, timeout=60, env=env)


class Check(unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix="snmctl-test-")

    def tearDown(self):
        shutil.rmtree(self.dir)

    def write(self, text):
        path = os.path.join(self.dir, "snm.toml")
        with open(path, "w") as f:
            f.write(text)
        return path

    def test_golden_seed_example_passes(self):
        result = snmctl("check", "-c", SEED)
        self.assertEqual(result.returncode, 0, result.stderr)
        self.assertIn("valid", result.stdout)
        self.assertIn("certificateScheme = 3` is deprecated", result.stderr)

    def test_contrib_example_passes(self):
        result = snmctl("check", "-c", EXAMPLE)
        self.assertEqual(result.returncode, 0, result.stderr)

    def test_every_error_is_printed_with_its_position(self):
        path = self.write('fqdn = "mail.example.com"\ndomains = ["example.com"]\n'
                          'enableImap = "yes"\ndkimSelectr = "x"\n'
                          '[loginAccounts."user1@example.org"]\nhashedPassword = "' + HASH + '"\n')
        result = snmctl("check", "-c", path)
        self.assertEqual(result.returncode, 1)
        self.assertIn(path + ":3:14: error: `enableImap` must be true or false", result.stderr)
        self.assertIn(path + ":4:1: error: unknown option `dkimSelectr` in the top level; did you mean `dkimSelector`?",
                      result.stderr)
        self.assertIn(path + ":5:16: error: login account `user1@example.org` is in domain `example.org`",
                      result.stderr)
        self.assertIn("3 errors; nothing was changed", result.stderr)

    def test_missing_file(self):
        result = snmctl("check", "-c", os.path.join(self.dir, "absent.toml"))
        self.assertEqual(result.returncode, 1)
        self.assertIn("cannot open", result.stderr)

    def test_this_machines_postfix_closes_smtp_smuggling(self):
        # Debian 12's Postfix 3.7 has smtpd_forbid_bare_newline as a backport.
        probe = subprocess.run(["postconf", "-d", "smtpd_forbid_bare_newline"], capture_output=True, text=True)
        self.assertEqual(probe.stdout, "smtpd_forbid_bare_newline = no\n", probe.stderr)
        result = snmctl("check", "-c", SEED)
        self.assertEqual(result.returncode, 0, result.stderr)
        self.assertNotIn("smtpd_forbid_bare_newline", result.stderr)

    def postfix_before_the_smuggling_fix(self):
        """An environment whose `postconf` answers as Postfix 3.7.6 (before
        smtpd_forbid_bare_newline) does: its version, and a warning for the
        parameter it does not know."""
        bin_dir = os.path.join(self.dir, "bin")
        os.mkdir(bin_dir)
        with open(os.path.join(bin_dir, "postconf"), "w") as f:
            f.write("#!/bin/sh\n"
                    "echo 'mail_version = 3.7.6'\n"
                    "echo 'postconf: warning: smtpd_forbid_bare_newline: unknown parameter' >&2\n")
        os.chmod(os.path.join(bin_dir, "postconf"), 0o755)
        return dict(os.environ, PATH=bin_dir + ":/usr/bin:/bin")

    def test_a_postfix_without_the_smuggling_fix_is_refused(self):
        env = self.postfix_before_the_smuggling_fix()
        result = snmctl("check", "-c", SEED, env=env)
        self.assertEqual(result.returncode, 1, result.stderr)
        self.assertIn(SEED + ": error: this machine's Postfix 3.7.6 has no smtpd_forbid_bare_newline: SMTP smuggling",
                      result.stderr)
        self.assertIn("or set smtpdForbidBareNewline = false to accept the risk", result.stderr)
        with open(SEED) as f:
            accepted_risk = self.write("smtpdForbidBareNewline = false\n" + f.read())
        self.assertEqual(snmctl("check", "-c", accepted_risk, env=env).returncode, 0)
        apply = snmctl("apply", "-c", SEED, "--root", os.path.join(self.dir, "root"), env=env)
        self.assertEqual(apply.returncode, 1)
        self.assertIn("nothing was changed", apply.stderr)
        self.assertFalse(os.path.exists(os.path.join(self.dir, "root")))

    def test_enable_false_is_valid_and_installs_nothing(self):
        with open(SEED) as f:
            off = self.write(f.read().replace("enable = true", "enable = false"))
        self.assertEqual(snmctl("check", "-c", off).returncode, 0)
        root = os.path.join(self.dir, "root")
        apply = snmctl("apply", "-c", off, "--root", root)
        self.assertEqual(apply.returncode, 0, apply.stderr)
        self.assertIn("has `enable = false` (SNM's mailserver.enable): snm is switched off; nothing was installed",
                      apply.stdout)
        self.assertFalse(os.path.exists(root))
        sandbox = snmctl("sandbox", "up", "-c", off, "--dir", os.path.join(self.dir, "sb"), "--port-base", "30000")
        self.assertEqual(sandbox.returncode, 1)
        self.assertIn("has `enable = false`: there is no mail server to run", sandbox.stderr)

    def test_cert_reports_what_it_cannot_do(self):
        root = os.path.join(self.dir, "root")
        status = snmctl("cert", "status", "-c", EXAMPLE, "--root", root)
        self.assertEqual(status.returncode, 1)
        self.assertIn("snmctl cert status: cannot read certificate " + root + "/var/lib/snm/certs/cert-mail.example.com.pem",
                      status.stderr)
        self.assertEqual(snmctl("cert", "renew", "-c", EXAMPLE, "--root", root, "--sandbox", root).returncode, 2)
        self.assertEqual(snmctl("cert", "status", "-c", EXAMPLE, "--force").returncode, 2)
        self.assertIn("expected `renew` or `status`, not `list`", snmctl("cert", "list", "-c", EXAMPLE).stderr)
        renewed = snmctl("cert", "renew", "-c", EXAMPLE, "--root", root)
        self.assertEqual(renewed.returncode, 0, renewed.stderr)
        self.assertIn("created a self-signed certificate for mail.example.com", renewed.stdout)
        self.assertIn("Postfix is not running: it reads the new certificate when it starts", renewed.stdout)
        status = snmctl("cert", "status", "-c", EXAMPLE, "--root", root)
        self.assertEqual(status.returncode, 0, status.stderr)
        self.assertIn("names      mail.example.com", status.stdout)
        self.assertIn("scheme     selfsigned", status.stdout)

    def test_no_postfix_on_this_machine_is_a_warning(self):
        empty = os.path.join(self.dir, "empty")
        os.mkdir(empty)
        result = snmctl("check", "-c", SEED, env=dict(os.environ, PATH=empty))
        self.assertEqual(result.returncode, 0, result.stderr)
        self.assertIn("warning: cannot ask Postfix whether it has smtpd_forbid_bare_newline (cannot run postconf",
                      result.stderr)

    def test_every_command_reading_the_file_reports_it_alike(self):
        path = self.write('fqdn = "mail.example.com"\ndomains = ["example.com"]\nenableImap = "yes"\n')
        commands = (["check"], ["apply", "--root", os.path.join(self.dir, "root")], ["dns"], ["dkim", "list"],
                    ["sandbox", "apply", "--dir", os.path.join(self.dir, "sandbox")],
                    ["cert", "status", "--root", os.path.join(self.dir, "root")],
                    ["cert", "renew", "--root", os.path.join(self.dir, "root")])
        for command in commands:
            result = snmctl(*command, "-c", path)
            self.assertEqual(result.returncode, 1, (command, result.stderr))
            self.assertIn(path + ":3:14: error: `enableImap` must be true or false", result.stderr)
            self.assertTrue(result.stderr.endswith(path + ": 1 error; nothing was changed\n"), (command, result.stderr))
            missing = snmctl(*command)
            self.assertEqual(missing.returncode, 2, command)
            self.assertTrue(missing.stderr.startswith("snmctl %s: missing -c FILE\n" % command[0]), missing.stderr)
        self.assertFalse(os.path.exists(os.path.join(self.dir, "root")))

    def test_usage_errors_exit_2(self):
        self.assertEqual(snmctl("check").returncode, 2)
        self.assertEqual(snmctl("check", "-c", SEED, "--bogus").returncode, 2)
        self.assertEqual(snmctl("frobnicate").returncode, 2)


class Apply(unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix="snmctl-test-")

    def tearDown(self):
        shutil.rmtree(self.dir)

    def test_writes_snapshots_under_root(self):
        result = snmctl("apply", "-c", EXAMPLE, "--root", self.dir)
        self.assertEqual(result.returncode, 0, result.stderr)
        state = os.path.join(self.dir, "var", "lib", "snm")
        for name in ("accounts.cdb", "routing.cdb", "dkim.cdb"):
            self.assertTrue(os.path.isfile(os.path.join(state, name)), name)
            self.assertIn("installed " + os.path.join(state, name), result.stdout)
        mode = stat.S_IMODE(os.stat(os.path.join(state, "accounts.cdb")).st_mode)
        self.assertEqual(mode & 0o007, 0, "accounts snapshot must not be world-readable")

    def test_bad_config_changes_nothing(self):
        self.assertEqual(snmctl("apply", "-c", EXAMPLE, "--root", self.dir).returncode, 0)
        state = os.path.join(self.dir, "var", "lib", "snm")
        before = {n: os.stat(os.path.join(state, n)).st_ino for n in os.listdir(state)}
        bad = os.path.join(self.dir, "bad.toml")
        with open(bad, "w") as f:
            f.write('fqdn = "mail.example.com"\ndomains = ["example.com"]\nvmailUID = 0\n')
        result = snmctl("apply", "-c", bad, "--root", self.dir)
        self.assertEqual(result.returncode, 1)
        self.assertIn("nothing was changed", result.stderr)
        after = {n: os.stat(os.path.join(state, n)).st_ino for n in os.listdir(state)}
        self.assertEqual(before, after)


@unittest.skipUnless(shutil.which("doveadm"), "doveadm (dovecot-core) is not installed")
class Passwd(unittest.TestCase):
    # doveadm pw -t wants Dovecot's {SCHEME} prefix, which snmctl apply adds.
    DOVECOT_SCHEME = {"$6$": "SHA512-CRYPT", "$2b$": "BLF-CRYPT", "$argon2id$": "ARGON2ID"}

    def verify_with_doveadm(self, scheme, prefix):
        result = snmctl("passwd", "--scheme", scheme, stdin="s3cret pass\n")
        self.assertEqual(result.returncode, 0, result.stderr)
        hashed = result.stdout.strip()
        self.assertTrue(hashed.startswith(prefix), hashed)
        hashed = "{%s}%s" % (self.DOVECOT_SCHEME[prefix], hashed)
        good = subprocess.run(["doveadm", "pw", "-t", hashed, "-p", "s3cret pass"], capture_output=True, text=True)
        self.assertEqual(good.returncode, 0, good.stderr)
        self.assertIn("verified", good.stdout + good.stderr)
        bad = subprocess.run(["doveadm", "pw", "-t", hashed, "-p", "wrong"], capture_output=True, text=True)
        self.assertNotEqual(bad.returncode, 0)

    def test_sha512_crypt_verifies_in_dovecot(self):
        self.verify_with_doveadm("sha512-crypt", "$6$")

    def test_bcrypt_verifies_in_dovecot(self):
        self.verify_with_doveadm("bcrypt", "$2b$")

    def test_argon2id_verifies_in_dovecot(self):
        self.verify_with_doveadm("argon2id", "$argon2id$")

    def test_default_scheme_and_empty_input(self):
        self.assertTrue(snmctl("passwd", stdin="x\n").stdout.startswith("$6$"))
        self.assertEqual(snmctl("passwd", stdin="").returncode, 1)
        self.assertEqual(snmctl("passwd", "--scheme", "md5", stdin="x\n").returncode, 2)


def month_stamp():
    return datetime.datetime.now(datetime.timezone.utc).strftime("%Y%m")


@unittest.skipUnless(shutil.which("openssl"), "openssl is not installed")
class DkimRotate(unittest.TestCase):
    BASE = 'fqdn = "mail.example.com"\ndomains = ["example.com", "example.org"]\ndkimKeyBits = 2048\n'
    TWO_SELECTORS = ('[dkim.domains."example.org"]\nselectors = [\n'
                     '  { name = "rsa2026", algorithm = "rsa", keyLength = 3072 },\n'
                     '  { name = "ed2026", algorithm = "ed25519" },\n]\n')

    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix="snmctl-test-")
        self.keys = os.path.join(self.dir, "state", "dkim")

    def tearDown(self):
        shutil.rmtree(self.dir)

    def write(self, text):
        path = os.path.join(self.dir, "snm.toml")
        with open(path, "w") as f:
            f.write('stateDirectory = "%s"\n' % os.path.join(self.dir, "state") + text)
        return path

    def keygen(self, path, *extra):
        result = snmctl("dkim", "keygen", "-c", path, *extra)
        self.assertEqual(result.returncode, 0, result.stderr)

    def rotate(self, path, *args):
        stamp = month_stamp()
        result = snmctl("dkim", "rotate", "-c", path, *args)
        self.stamps = {stamp, month_stamp()}  # a run across midnight of the month's end
        return result

    def files(self):
        found = {}
        for top, _, names in os.walk(self.dir):
            for name in names:
                with open(os.path.join(top, name), "rb") as f:
                    found[os.path.join(top, name)] = f.read()
        return found

    @staticmethod
    def records(output):
        return [line for line in output.splitlines() if " IN TXT " in line and not line.startswith(";")]

    @staticmethod
    def table(output):
        lines = output.splitlines()
        start = next(i for i, line in enumerate(lines) if line.startswith("[dkim.domains."))
        end = lines.index("]", start)
        return "\n".join(lines[start:end + 1]) + "\n"

    def assert_key(self, key_file, description):
        self.assertEqual(stat.S_IMODE(os.stat(key_file).st_mode), 0o600, key_file)
        text = subprocess.run(["openssl", "pkey", "-in", key_file, "-noout", "-text"],
                              capture_output=True, text=True, check=True).stdout
        self.assertIn(description, text.splitlines()[0])

    def assert_published(self, output, key_file):
        with open(key_file[:-len(".key")] + ".txt") as f:
            record = [line for line in f.read().splitlines() if not line.startswith(";")]
        self.assertEqual(len(record), 1)
        self.assertIn(record[0], self.records(output))

    def assert_listed_ok(self, path, domain, selectors, *extra):
        result = snmctl("dkim", "list", "-c", path, *extra)
        self.assertEqual(result.returncode, 0, result.stdout + result.stderr)
        listed = {line.split("\t")[1]: line.split("\t")[5] for line in result.stdout.splitlines()
                  if line.startswith(domain + "\t")}
        self.assertEqual(listed, {name: "ok" for name in selectors})

    def test_default_selector_gets_a_dated_successor_and_a_pasteable_table(self):
        path = self.write(self.BASE)
        self.keygen(path)
        result = self.rotate(path, "--domain", "example.com")
        self.assertEqual(result.returncode, 0, result.stderr)
        names = ["mail-" + stamp for stamp in self.stamps]
        new = next(name for name in names if os.path.exists(os.path.join(self.keys, "example.com.%s.key" % name)))
        key_file = os.path.join(self.keys, "example.com.%s.key" % new)
        self.assert_key(key_file, "Private-Key: (2048 bit")
        self.assert_published(result.stdout, key_file)
        self.assertEqual(len(self.records(result.stdout)), 1)
        self.assertEqual(self.table(result.stdout),
                         '[dkim.domains."example.com"]\nselectors = [\n'
                         '  { name = "mail", algorithm = "rsa", keyLength = 2048 },\n'
                         '  { name = "%s", algorithm = "rsa", keyLength = 2048 },\n]\n' % new)
        self.assertIn("dig +short TXT %s._domainkey.example.com" % new, result.stdout)
        self.assertIn("remove `mail` from the list", result.stdout)
        # The configuration is the administrator's: rotate leaves it alone.
        self.assert_listed_ok(path, "example.com", ["mail"])
        path = self.write(self.BASE + self.table(result.stdout))
        check = snmctl("check", "-c", path)
        self.assertEqual(check.returncode, 0, check.stderr)
        self.assert_listed_ok(path, "example.com", ["mail", new])

    def test_each_selector_of_a_domain_gets_a_successor_of_its_algorithm(self):
        path = self.write(self.BASE + self.TWO_SELECTORS)
        self.keygen(path)
        result = self.rotate(path, "--domain", "example.org")
        self.assertEqual(result.returncode, 0, result.stderr)
        made = sorted(name for name in os.listdir(self.keys)
                      if name.endswith(".key") and re.search(r"-\d{6}\.key$", name))
        self.assertEqual(len(made), 2, made)
        ed, rsa = [os.path.join(self.keys, name) for name in made]
        self.assertRegex(ed, r"example\.org\.ed2026-\d{6}\.key$")
        self.assertRegex(rsa, r"example\.org\.rsa2026-\d{6}\.key$")
        self.assert_key(rsa, "Private-Key: (3072 bit")
        self.assert_key(ed, "ED25519 Private-Key")
        self.assert_published(result.stdout, rsa)
        self.assert_published(result.stdout, ed)
        self.assertEqual(len(self.records(result.stdout)), 2)
        table = self.table(result.stdout)
        self.assertIn('{ name = "ed2026", algorithm = "ed25519" }', table)
        path = self.write(self.BASE + table)
        self.assertEqual(snmctl("check", "-c", path).returncode, 0)
        new = [os.path.basename(name)[len("example.org."):-len(".key")] for name in (rsa, ed)]
        self.assert_listed_ok(path, "example.org", ["rsa2026", "ed2026"] + new)
        # Old and new RSA selectors together: a rotation under way.
        again = snmctl("dkim", "rotate", "-c", path, "--domain", "example.org")
        self.assertEqual(again.returncode, 1)
        self.assertIn("a rotation is under way", again.stderr)

    def test_selector_option_names_the_successor(self):
        path = self.write(self.BASE)
        self.keygen(path)
        result = self.rotate(path, "--domain", "EXAMPLE.com", "--selector", "s2")
        self.assertEqual(result.returncode, 0, result.stderr)
        key_file = os.path.join(self.keys, "example.com.s2.key")
        self.assert_key(key_file, "Private-Key: (2048 bit")
        self.assert_published(result.stdout, key_file)
        self.assertIn('  { name = "s2", algorithm = "rsa", keyLength = 2048 },\n', self.table(result.stdout))

    def test_a_second_rotation_in_a_month_counts_on(self):
        path = self.write(self.BASE)
        self.keygen(path)
        self.assertEqual(self.rotate(path, "--domain", "example.com").returncode, 0)
        first = self.stamps
        result = self.rotate(path, "--domain", "example.com")
        self.assertEqual(result.returncode, 0, result.stderr)
        if first == self.stamps and len(first) == 1:
            self.assertIn('{ name = "mail-%s-2", ' % first.pop(), self.table(result.stdout))

    def test_an_unknown_domain_is_refused_and_nothing_is_written(self):
        path = self.write(self.BASE)
        self.keygen(path)
        before = self.files()
        result = self.rotate(path, "--domain", "example.net")
        self.assertEqual(result.returncode, 1)
        self.assertIn("`example.net` is not one of the domains", result.stderr)
        self.assertEqual(result.stdout, "")
        self.assertEqual(self.files(), before)

    def test_an_existing_key_file_is_refused_and_kept(self):
        path = self.write(self.BASE)
        self.keygen(path)
        taken = os.path.join(self.keys, "example.com.s2.key")
        with open(taken, "w") as f:
            f.write("someone's key\n")
        before = self.files()
        result = self.rotate(path, "--domain", "example.com", "--selector", "s2")
        self.assertEqual(result.returncode, 1)
        self.assertIn(taken + " exists already", result.stderr)
        self.assertEqual(self.files(), before)
        configured = self.rotate(path, "--domain", "example.com", "--selector", "mail")
        self.assertEqual(configured.returncode, 1)
        self.assertIn("already configured", configured.stderr)
        self.assertEqual(self.files(), before)

    def test_selector_option_is_a_usage_error_with_several_selectors(self):
        path = self.write(self.BASE + self.TWO_SELECTORS)
        self.keygen(path)
        before = self.files()
        result = self.rotate(path, "--domain", "example.org", "--selector", "new")
        self.assertEqual(result.returncode, 2)
        self.assertIn("each gets its own successor", result.stderr)
        self.assertEqual(self.files(), before)
        self.assertEqual(self.rotate(path).returncode, 2)  # no --domain
        self.assertEqual(snmctl("dkim", "list", "-c", path, "--domain", "example.org").returncode, 2)

    def test_root_moves_the_keys_but_not_the_table(self):
        path = os.path.join(self.dir, "snm.toml")
        custom = os.path.join(self.dir, "elsewhere", "old.key")
        with open(path, "w") as f:
            f.write(self.BASE + '[dkim.domains."example.com"]\nselectors = [\n'
                    '  { name = "old", algorithm = "rsa", keyFile = "%s" },\n]\n' % custom)
        root = os.path.join(self.dir, "root")
        self.keygen(path, "--root", root)
        result = self.rotate(path, "--domain", "example.com", "--selector", "new", "--root", root)
        self.assertEqual(result.returncode, 0, result.stderr)
        self.assert_key(os.path.join(root, "var", "lib", "snm", "dkim", "example.com.new.key"), "(2048 bit")
        table = self.table(result.stdout)
        self.assertIn('{ name = "old", algorithm = "rsa", keyLength = 2048, keyFile = "%s" }' % custom, table)
        self.assertNotIn(root, table)
        with open(path, "w") as f:
            f.write(self.BASE + table)
        self.assert_listed_ok(path, "example.com", ["old", "new"], "--root", root)


class EveryProgram(unittest.TestCase):
    """Every snm program reads its command line with the one parser in
    common/, so each answers --help, --version and a bad option alike."""

    @staticmethod
    def run_program(program, *args):
        return subprocess.run([program, *args], capture_output=True, text=True, timeout=60, stdin=subprocess.DEVNULL)

    def test_all_four_programs_are_tested(self):
        self.assertEqual(sorted(os.path.basename(p) for p in PROGRAMS),
                         ["snm-dkim-milter", "snm-policyd", "snm-spam-learn", "snmctl"])

    def test_help_prints_the_usage_on_stdout_and_exits_0(self):
        for program in PROGRAMS:
            name = os.path.basename(program)
            for option in ("--help", "-h"):
                result = self.run_program(program, option)
                self.assertEqual(result.returncode, 0, (name, option, result.stderr))
                self.assertTrue(result.stdout.startswith("usage: %s " % name), (name, result.stdout))
                self.assertIn("--version", result.stdout, name)
                self.assertEqual(result.stderr, "", name)

    def test_version_prints_the_program_and_the_version_and_exits_0(self):
        versions = set()
        for program in PROGRAMS:
            name = os.path.basename(program)
            for option in ("--version", "-V"):
                result = self.run_program(program, option)
                self.assertEqual(result.returncode, 0, (name, option, result.stderr))
                match = re.fullmatch(re.escape(name) + r" (\d+\.\d+\.\d+)\n", result.stdout)
                self.assertTrue(match, (name, result.stdout))
                versions.add(match.group(1))
                self.assertEqual(result.stderr, "", name)
        self.assertEqual(len(versions), 1, versions)

    def assert_usage_error(self, program, args, message, name=None):
        name = name or os.path.basename(program)
        result = self.run_program(program, *args)
        self.assertEqual(result.returncode, 2, (name, args, result.stderr))
        self.assertEqual(result.stdout, "", name)
        self.assertTrue(result.stderr.startswith("%s: %s\nusage: %s" % (name, message, name)), (name, result.stderr))

    def test_an_unknown_option_is_a_usage_error_naming_it(self):
        for program in PROGRAMS:
            self.assert_usage_error(program, ["--bogus"], "unknown option --bogus")
            self.assert_usage_error(program, ["-Z"], "unknown option -Z")

    def test_a_missing_value_is_a_usage_error_naming_the_option(self):
        valued = {"snm-policyd": "--state", "snm-dkim-milter": "--state", "snm-spam-learn": "--controller"}
        for program in PROGRAMS[1:]:
            option = valued[os.path.basename(program)]
            self.assert_usage_error(program, [option], "option %s needs a value" % option)
        self.assert_usage_error(SNMCTL, ["check", "-c"], "option -c needs a value", name="snmctl check")

    def test_both_forms_of_a_value_are_read(self):
        for form in (["-c", SEED], ["--config", SEED], ["--config=" + SEED], ["-c" + SEED]):
            result = snmctl("check", *form)
            self.assertEqual(result.returncode, 0, (form, result.stderr))
            self.assertIn("valid", result.stdout)

    def test_every_snmctl_command_answers_help_with_its_usage(self):
        for command in ("check", "apply", "passwd", "sandbox", "dkim", "dns"):
            result = snmctl(command, "--help")
            self.assertEqual(result.returncode, 0, (command, result.stderr))
            self.assertTrue(result.stdout.startswith("usage: snmctl %s " % command), (command, result.stdout))
            self.assertEqual(snmctl(command, "--version").stdout, snmctl("--version").stdout)


class SystemdUnits(unittest.TestCase):
    """contrib/systemd's units start each daemon where the rendered Postfix
    and Dovecot look for it, with options the daemon has, and restart it
    when it dies."""

    UNITS = {"snm-policyd": "snm-policyd.service", "snm-dkim-milter": "snm-dkim-milter.service"}

    def exec_start(self, unit):
        with open(os.path.join(SOURCE, "contrib", "systemd", unit)) as f:
            text = f.read().replace("\\\n", " ")
        self.assertIn("\nRestart=on-failure\n", text)
        line = next(l for l in text.splitlines() if l.startswith("ExecStart="))
        return line[len("ExecStart="):].split()

    def test_units_start_the_daemons_with_options_they_have(self):
        for name, unit in self.UNITS.items():
            argv = self.exec_start(unit)
            self.assertEqual(argv[0], "/usr/sbin/" + name)
            program = next(p for p in PROGRAMS if os.path.basename(p) == name)
            usage = subprocess.run([program, "--help"], capture_output=True, text=True).stdout
            for option in (a for a in argv[1:] if a.startswith("--")):
                self.assertIn(option, usage, f"{unit}: {option}")

    def test_units_listen_where_the_rendered_config_points(self):
        root = tempfile.mkdtemp(prefix="snmctl-test-")
        try:
            self.assertEqual(snmctl("apply", "-q", "-c", EXAMPLE, "--root", root).returncode, 0)
            with open(os.path.join(root, "etc/postfix/main.cf")) as f:
                main_cf = f.read().replace(root, "")
            with open(os.path.join(root, "etc/dovecot/dovecot.conf")) as f:
                dovecot = f.read()
        finally:
            shutil.rmtree(root)
        sockets = [a for u in self.UNITS.values() for a in self.exec_start(u) if a.startswith(("unix:", "inet:"))]
        for spec in sockets:
            if spec.startswith("unix:"):
                self.assertIn(spec, main_cf)
            else:
                self.assertIn("auth_policy_server_url = http://" + spec[len("inet:"):] + "/", dovecot)
        self.assertEqual(len(sockets), 4)

    @unittest.skipUnless(shutil.which("systemd-analyze"), "systemd-analyze is not installed")
    def test_systemd_accepts_the_units(self):
        work = tempfile.mkdtemp(prefix="snmctl-test-")
        try:
            for name, unit in self.UNITS.items():
                program = next(p for p in PROGRAMS if os.path.basename(p) == name)
                with open(os.path.join(SOURCE, "contrib", "systemd", unit)) as f:
                    text = f.read().replace("/usr/sbin/" + name, program)
                with open(os.path.join(work, unit), "w") as f:
                    f.write(text)
            for unit in ("snm-cert-renew.service", "snm-cert-renew.timer"):
                with open(os.path.join(SOURCE, "contrib", "systemd", unit)) as f:
                    text = f.read().replace("/usr/bin/snmctl", SNMCTL)
                with open(os.path.join(work, unit), "w") as f:
                    f.write(text)
            units = [os.path.join(work, u) for u in [*self.UNITS.values(), "snm-cert-renew.timer"]]
            verify = subprocess.run(["systemd-analyze", "verify", "--man=no", *units], capture_output=True, text=True)
            self.assertEqual(verify.returncode, 0, verify.stderr)
        finally:
            shutil.rmtree(work)

    def test_the_renewal_timer_runs_snmctl_cert_renew_twice_a_day(self):
        with open(os.path.join(SOURCE, "contrib", "systemd", "snm-cert-renew.service")) as f:
            service = f.read()
        self.assertIn("\nType=oneshot\n", service)
        self.assertIn("\nExecStart=/usr/bin/snmctl cert renew -c /etc/snm/snm.toml\n", service)
        with open(os.path.join(SOURCE, "contrib", "systemd", "snm-cert-renew.timer")) as f:
            timer = f.read()
        for line in ("OnCalendar=*-*-* 00,12:00:00", "RandomizedDelaySec=43200", "Persistent=true"):
            self.assertIn("\n" + line + "\n", timer)
        if shutil.which("systemd-analyze"):
            calendar = subprocess.run(["systemd-analyze", "calendar", "--iterations=2", "*-*-* 00,12:00:00"],
                                      capture_output=True, text=True)
            self.assertEqual(calendar.returncode, 0, calendar.stderr)
            self.assertRegex(calendar.stdout, r"Next elapse: .* (00|12):00:00")


if __name__ == "__main__":
    unittest.main(argv=[sys.argv[0], "-v"])
