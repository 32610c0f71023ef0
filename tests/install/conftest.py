"""pytest configuration for tests/install: makes the support modules here
and tests/e2e's DKIM verifiers importable, prints the phase durations at
the end of the run, and adds the server's logs to a failed test's report."""
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))
sys.path.insert(1, str(Path(__file__).parents[1] / "e2e"))

import timing  # noqa: E402


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    server = getattr(item, "funcargs", {}).get("server")
    if report.when == "call" and report.failed and server is not None:
        report.sections.append(("snm install test: logs and processes", server.diagnostics()))


def pytest_terminal_summary(terminalreporter):
    if timing.durations:
        terminalreporter.section("install test phases")
        for name, seconds in timing.durations:
            terminalreporter.write_line(f"{seconds:7.1f} s  {name}")
        terminalreporter.write_line(f"{sum(s for _, s in timing.durations):7.1f} s  in all")
