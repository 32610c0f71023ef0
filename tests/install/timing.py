"""How long each phase of the install test took, printed at the end of the
run (conftest.py's terminal summary) and as each phase ends.

    with phase("unpack the root"):
        ...
"""
import time
from contextlib import contextmanager

# (phase, seconds), in the order they ran.
durations = []


@contextmanager
def phase(name):
    started = time.monotonic()
    try:
        yield
    finally:
        seconds = time.monotonic() - started
        durations.append((name, seconds))
        print(f"phase {name}: {seconds:.1f} s", flush=True)
