"""setup.py builds the extension once (issue 12): it reuses the main CMake tree (build/) when
that tree builds _core for the installing interpreter, and only otherwise configures a tree of
its own (build/py-ext)."""
import runpy
import sys
from pathlib import Path

import pytest
import setuptools

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def setup_py(monkeypatch, tmp_path):
    """setup.py's functions, without running setup()."""
    monkeypatch.setattr(setuptools, "setup", lambda **kwargs: None)
    monkeypatch.setenv("PROBESIM_SETUPTOOLS_BUILD", str(tmp_path / "setuptools"))
    return runpy.run_path(str(ROOT / "setup.py"))


def write_cache(d: Path, python: str, build_python: str = "ON") -> Path:
    d.mkdir(parents=True, exist_ok=True)
    (d / "CMakeCache.txt").write_text(
        "# This is the CMakeCache file.\n"
        "//Build the pybind11 module probesim._core\n"
        f"PROBESIM_BUILD_PYTHON:BOOL={build_python}\n"
        "//Interpreter _core is built for\n"
        f"PYTHON_EXECUTABLE:FILEPATH={python}\n")
    return d


def test_a_tree_configured_for_this_interpreter_is_reused(setup_py, tmp_path):
    configured = setup_py["_configured_for_this_python"]
    assert configured(write_cache(tmp_path / "same", sys.executable))
    # a venv's python and the interpreter it links to are one interpreter
    link = tmp_path / "python-link"
    link.symlink_to(Path(sys.executable).resolve())
    assert configured(write_cache(tmp_path / "linked", str(link)))


def test_a_tree_for_another_interpreter_or_without_python_is_not(setup_py, tmp_path):
    configured = setup_py["_configured_for_this_python"]
    assert not configured(write_cache(tmp_path / "other", "/nonexistent/python3.9"))
    assert not configured(write_cache(tmp_path / "nopy", sys.executable, build_python="OFF"))
    assert not configured(tmp_path / "missing")


def test_the_default_is_the_main_tree_when_it_fits(setup_py):
    main = ROOT / "build"
    expected = main if setup_py["_configured_for_this_python"](main) else main / "py-ext"
    assert setup_py["_default_build_dir"]() == expected
