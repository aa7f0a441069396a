"""Build glue for the probesim Python package (see pyproject.toml).

The extension probesim._core is built by the top-level CMake project. In the project's own
workflow (scripts/venv.sh) it is the very file the main build made (PROBESIM_PREBUILT_CORE), so
the tests and the Python package run one binary. A plain `pip install .` configures the project
builds _core in the main CMake tree (build/) when that tree is configured for the installing
interpreter, so the C++ is compiled once, in the configuration ctest tests; otherwise it
configures the project itself with -DPROBESIM_BUILD_GUESTS=OFF -DPROBESIM_WERROR=OFF in a
persistent CMake build directory, so that reinstalling is incremental. Either way it then copies
the module into the wheel. Environment:

  PROBESIM_PREBUILT_CORE     an already built _core module to ship as it is
  PROBESIM_PY_BUILD_DIR      CMake build directory (default: build/ when configured for this
                             interpreter, else build/py-ext in the repository)
  PROBESIM_SETUPTOOLS_BUILD  setuptools' build base (default: build/py-setuptools)
  PROBESIM_JOBS              parallel build jobs (default: 2)
"""

import os
import shutil
import subprocess
import sys
import sysconfig
from pathlib import Path

from setuptools import Extension, setup
from setuptools.command.build_ext import build_ext

ROOT = Path(__file__).resolve().parent


def _env_path(name: str, default: Path) -> Path:
    value = os.environ.get(name)
    return Path(value).resolve() if value else default


SETUPTOOLS_BUILD = _env_path("PROBESIM_SETUPTOOLS_BUILD", ROOT / "build" / "py-setuptools")
SETUPTOOLS_BUILD.mkdir(parents=True, exist_ok=True)  # egg_info requires egg_base to exist


def _configured_for_this_python(build_dir: Path) -> bool:
    """True when build_dir is a CMake tree that builds _core for this interpreter (a venv's
    python counts as the interpreter it links to)."""
    cache = build_dir / "CMakeCache.txt"
    if not cache.is_file():
        return False
    entries = dict(line.split("=", 1) for line in cache.read_text().splitlines()
                   if "=" in line and not line.startswith(("#", "//")))
    python = entries.get("PYTHON_EXECUTABLE:FILEPATH")
    return (entries.get("PROBESIM_BUILD_PYTHON:BOOL", "ON") not in ("OFF", "0", "FALSE")
            and python is not None
            and Path(python).resolve() == Path(sys.executable).resolve())


def _default_build_dir() -> Path:
    """The main CMake tree when it can build _core for this interpreter, else build/py-ext."""
    main = ROOT / "build"
    return main if _configured_for_this_python(main) else ROOT / "build" / "py-ext"


class CMakeExtension(Extension):
    """An extension whose sources CMake knows; setuptools only ships the result."""

    def __init__(self, name: str, target: str) -> None:
        super().__init__(name, sources=[])
        self.target = target


class CMakeBuild(build_ext):
    """Configures (once) and builds the CMake target of each CMakeExtension."""

    def build_extension(self, ext: Extension) -> None:
        if not isinstance(ext, CMakeExtension):
            return super().build_extension(ext)
        prebuilt = os.environ.get("PROBESIM_PREBUILT_CORE")
        if prebuilt:
            built = Path(prebuilt)
            if not built.is_file():
                raise RuntimeError(f"PROBESIM_PREBUILT_CORE={prebuilt}: no such file")
        else:
            built = self._build(ext.target)
        dest = Path(self.get_ext_fullpath(ext.name))
        dest.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(built, dest)

    def _build(self, target: str) -> Path:
        build_dir = _env_path("PROBESIM_PY_BUILD_DIR", _default_build_dir())
        self._configure(build_dir)
        jobs = os.environ.get("PROBESIM_JOBS", "2")
        subprocess.run(["cmake", "--build", str(build_dir), "--target", target, f"-j{jobs}"],
                       check=True)
        return build_dir / "python" / (target + sysconfig.get_config_var("EXT_SUFFIX"))

    @staticmethod
    def _configure(build_dir: Path) -> None:
        if _configured_for_this_python(build_dir):
            return  # configured for this interpreter; the build re-runs CMake if needed
        build_dir.mkdir(parents=True, exist_ok=True)
        subprocess.run([
            "cmake", "-S", str(ROOT), "-B", str(build_dir),
            "-DPROBESIM_BUILD_PYTHON=ON", "-DPROBESIM_BUILD_GUESTS=OFF", "-DPROBESIM_WERROR=OFF",
            f"-DPYTHON_EXECUTABLE={sys.executable}",
            # -O2 without -g: GCC 12 -O3 reports a false -Wrestrict in libstdc++ (Release's
            # default), and debug info would make every wheel tens of megabytes.
            "-DCMAKE_BUILD_TYPE=Release",
            "-DCMAKE_CXX_FLAGS_RELEASE=-O2 -DNDEBUG", "-DCMAKE_C_FLAGS_RELEASE=-O2 -DNDEBUG",
        ], check=True)


setup(
    packages=["probesim"],
    package_dir={"": "python"},
    package_data={"probesim": ["py.typed", "*.pyi"]},
    ext_modules=[CMakeExtension("probesim._core", target="_core")],
    cmdclass={"build_ext": CMakeBuild},
    # Keep setuptools' output (build/, *.egg-info) out of the source tree.
    options={"build": {"build_base": str(SETUPTOOLS_BUILD)},
             "egg_info": {"egg_base": str(SETUPTOOLS_BUILD)}},
    zip_safe=False,
)
