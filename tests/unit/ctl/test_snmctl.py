#!/usr/bin/python3
"""snmctl as a program: `check` exit codes and file:line:col errors,
`apply` writing the snapshots all or nothing, `passwd` hashes that
Dovecot's own `doveadm pw -t` verifies.

Usage: test_snmctl.py SNMCTL SOURCE_ROOT
"""
import os
import shutil
import stat
import subprocess
import sys
import tempfile
import unittest

SNMCTL = sys.argv[1]
SOURCE = sys.argv[2]
SEED = os.path.join(SOURCE, "tests", "data", "seed-readme.toml")
EXAMPLE = os.path.join(SOURCE, "contrib", "examples", "snm.toml")
HASH = "$6$/z4n8AQl6K$kiOkBTWlZfBd7PvF5GsJ8PmPgdZsFGN1jPGZufxxr60PoR0oUsrvzm2oQiflyz5ir9fFJ.d/zKm/NgLXNUsNX/"


def snmctl(*args, stdin=None):
    return subprocess.run([SNMCTL, *args], input=stdin, capture_output=True, text=True, timeout=60)


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


if __name__ == "__main__":
    unittest.main(argv=[sys.argv[0], "-v"])
