"""snmctl apply end to end: a changed config replaces the snapshots it
changes atomically (a reader holding the old one keeps it) and leaves the
others untouched."""
import os

import snmtest


def test_apply_twice_replaces_snapshots_atomically(build_dir, tmp_path):
    example = snmtest.SOURCE_ROOT / "contrib" / "examples" / "snm.toml"
    snmtest.snmctl("apply", "-c", example, "--root", tmp_path)
    state = tmp_path / "var" / "lib" / "snm"
    first = {name: os.stat(state / name) for name in ("accounts.cdb", "routing.cdb", "dkim.cdb")}
    contents = {name: (state / name).read_bytes() for name in first}
    held = open(state / "routing.cdb", "rb")  # a reader holding the old file

    changed = tmp_path / "changed.toml"
    changed.write_text(example.read_text().replace('"team@example.com"', '"crew@example.com"'))
    snmtest.snmctl("apply", "-c", changed, "--root", tmp_path)
    second = {name: os.stat(state / name) for name in first}
    for name in first:
        if (state / name).read_bytes() != contents[name]:
            assert first[name].st_ino != second[name].st_ino, f"{name} was rewritten in place, not replaced"
        else:
            assert (first[name].st_ino, first[name].st_mtime_ns) == (second[name].st_ino, second[name].st_mtime_ns), \
                f"{name} is unchanged but was written again"
    assert first["routing.cdb"].st_ino != second["routing.cdb"].st_ino  # the alias change is in the routing snapshot
    assert b"team@example.com" in held.read()        # the old file is intact for its reader
    assert b"crew@example.com" in (state / "routing.cdb").read_bytes()
    held.close()
    assert {"accounts.cdb", "routing.cdb", "dkim.cdb"} <= set(os.listdir(state))
    assert not [n for n in os.listdir(state) if ".snm-new." in n], "temporary files left behind"
