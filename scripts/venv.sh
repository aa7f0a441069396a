#!/usr/bin/env bash
# scripts/venv.sh [BUILD_DIR]: make <repo>/.venv ready for pytest and notebooks.
#  - creates it with Debian's interpreter (/usr/bin/python3 -m venv --system-site-packages:
#    pytest, nbclient, ipykernel, matplotlib and pybind11 come from Debian packages);
#  - installs probesim into it (pip install --no-build-isolation .) when the sources changed
#    since the last install, building _core incrementally in BUILD_DIR/py-ext;
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

# Everything _core is built from, plus the packaging files: a changed byte means reinstall.
sources_digest() {
  find python include base mmu loader emu probes cmake CMakeLists.txt setup.py pyproject.toml \
       -type f ! -name '*.pyc' ! -path '*/__pycache__/*' -print0 2>/dev/null |
    sort -z | xargs -0 sha256sum | sha256sum | cut -d' ' -f1
}

digest=$(sources_digest)
if [[ -f $STAMP && $(cat "$STAMP") == "$digest" ]] && "$PY" -c 'import probesim._core' 2>/dev/null; then
  echo "probesim: $VENV is up to date"
else
  echo "probesim: installing probesim into $VENV (CMake build dir $BUILD/py-ext)"
  PROBESIM_PY_BUILD_DIR="$BUILD/py-ext" PROBESIM_SETUPTOOLS_BUILD="$BUILD/py-setuptools" \
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
