"""Shared fixtures: the repository root and the release binary of the CLI (the Rust path
the Python results are compared with)."""

import os
import pathlib
import subprocess

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[2]
BIN = ROOT / "target" / "release" / "dnnrm"


@pytest.fixture(scope="session")
def root() -> pathlib.Path:
    return ROOT


@pytest.fixture(scope="session")
def cli():
    """Runs the CLI (`make test` builds it before pytest) and returns its stdout."""
    assert BIN.exists(), f"{BIN} is missing: run `cargo build --release` (make test does)"

    def run(*args: str) -> str:
        res = subprocess.run([str(BIN), *args], cwd=ROOT, capture_output=True, text=True, env=os.environ.copy())
        assert res.returncode == 0, f"dnnrm {' '.join(args)} failed: {res.stderr}"
        return res.stdout

    return run


def metric(line: str, name: str) -> float:
    """The value of `name=...` in a metrics line of the CLI."""
    for tok in line.split():
        if tok.startswith(name + "="):
            return float(tok.split("=", 1)[1])
    raise AssertionError(f"no {name}= in {line!r}")
