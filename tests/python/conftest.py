"""Shared fixtures: where the C++ build put mixq's programs."""
import os
import pathlib

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[2]


@pytest.fixture(scope="session")
def build_dir() -> pathlib.Path:
    path = pathlib.Path(os.environ.get("MIXQ_BUILD_DIR", ROOT / "build"))
    if not (path / "examples").is_dir():
        pytest.fail(f"mixq build directory {path} has no examples/: build first (scripts/test does)")
    return path
