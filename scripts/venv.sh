#!/usr/bin/env bash
# scripts/venv.sh [BUILD_DIR]: make <repo>/.venv ready for pytest and notebooks.
#  - creates it with Debian's interpreter (/usr/bin/python3 -m venv --system-site-packages:
#    pytest, nbclient, ipykernel, matplotlib and pybind11 come from Debian packages);
#  - builds _core in BUILD_DIR (the main CMake tree: one binary for ctest and Python) and installs
#    probesim into the venv (pip install --no-build-isolation ., shipping that very module)
#    whenever the module or the package's Python files changed since the last install. The
#    module embeds the guest kernel image, so a change in guest/ reaches the venv too;
#  - registers the Jupyter kernel "probesim-venv" inside the venv (notebooks select it).
# BUILD_DIR defaults to build; relative paths are taken from the repository root.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"
BUILD=$(realpath -m "${1:-build}")
VENV=${PROBESIM_VENV:-$ROOT/.venv}  # override for experiments
PY=$VENV/bin/python
STAMP=$VENV/.probesim-sources

if [[ ! -x $PY ]]; then
  echo "probesim: creating $VENV"
  /usr/bin/python3 -m venv --system-site-packages "$VENV"
fi

if [[ ! -f $BUILD/CMakeCache.txt ]]; then
  echo "probesim: $BUILD is not a configured build directory (run make build first)" >&2
  exit 1
fi
cmake --build "$BUILD" --target _core -j"${JOBS:-2}"
CORE=$BUILD/python/_core$("$PY" -c 'import sysconfig; print(sysconfig.get_config_var("EXT_SUFFIX"))')
[[ -f $CORE ]] || { echo "probesim: $CORE was not built (PROBESIM_BUILD_PYTHON=OFF?)" >&2; exit 1; }

# The module (which embeds the guest kernel) plus the package's own files: a changed byte means
# reinstall.
sources_digest() {
  { echo "$CORE"; find python/probesim setup.py pyproject.toml "$CORE" \
      -type f ! -name '*.pyc' ! -path '*/__pycache__/*' -print0 | sort -z | xargs -0 sha256sum; } |
    sha256sum | cut -d' ' -f1
}

digest=$(sources_digest)
if [[ -f $STAMP && $(cat "$STAMP") == "$digest" ]] && "$PY" -c 'import probesim._core' 2>/dev/null; then
  echo "probesim: $VENV is up to date"
else
  echo "probesim: installing probesim into $VENV ($CORE)"
  PROBESIM_PREBUILT_CORE="$CORE" PROBESIM_SETUPTOOLS_BUILD="$BUILD/py-setuptools" \
    "$PY" -m pip install --no-build-isolation --no-deps --no-index --quiet \
      --disable-pip-version-check --root-user-action=ignore "$ROOT"
  echo "$digest" > "$STAMP"
fi

if [[ ! -f $VENV/share/jupyter/kernels/probesim-venv/kernel.json ]]; then
  # PYDEVD_DISABLE_FILE_VALIDATION silences debugpy's "frozen modules" warning on stderr.
  PYDEVD_DISABLE_FILE_VALIDATION=1 "$PY" -m ipykernel install --sys-prefix --name probesim-venv \
    --display-name "Python (probesim venv)" --env PYDEVD_DISABLE_FILE_VALIDATION 1 >/dev/null
  echo "probesim: registered Jupyter kernel probesim-venv"
fi
