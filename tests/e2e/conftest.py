"""pytest configuration for tests/e2e: makes snmtest importable and checks
the build tree exists."""
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))

import snmtest  # noqa: E402


@pytest.fixture(scope="session")
def build_dir():
    if not snmtest.SNMCTL.exists():
        pytest.fail(f"{snmtest.SNMCTL} is missing: build first (meson setup build && meson compile -C build), "
                    f"or set SNM_BUILD_DIR")
    return snmtest.BUILD_DIR


@pytest.fixture(scope="session")
def acceptance_sandbox(build_dir):
    """One sandbox from tests/e2e/data/acceptance.toml shared by the
    acceptance tests that do not change its configuration."""
    from sandbox_support import Sandbox
    with Sandbox(Path(__file__).parent / "data" / "acceptance.toml") as sandbox:
        yield sandbox
