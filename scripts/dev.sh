#!/usr/bin/env bash
# Set up everything pihamno needs on a fresh machine, then run one task.
#
#   bash scripts/dev.sh demo    # set up, then run the demo: the Allen-Cahn example (examples/allen_cahn.py)
#   bash scripts/dev.sh test    # set up, then lint (ruff) and run the whole test suite with the doctests (what CI runs)
#   bash scripts/dev.sh setup   # set up only
#
# Setup is idempotent: a virtual environment in .venv with the CPU build of torch (torch==2.13.0, which
# these machines serve from a local wheel; install it before anything that depends on torch, or pip may
# pull a multi-GB CUDA build), pihamno itself in editable mode with its test and distributed (Dask) extras,
# and -- when run as root on Debian and missing -- the Mesa EGL libraries PyVista needs to render off-screen
# without an X server.
set -euo pipefail
cd "$(dirname "$0")/.."
task="${1:-test}"; shift || true
PY="${PYTHON:-python3}"
VENV=.venv

setup_system() {
    # Off-screen rendering (PyVista/VTK through Mesa EGL). Only when missing, only as root with apt.
    if ! ldconfig -p 2>/dev/null | grep -q "libEGL_mesa.so"; then
        if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
            echo "[setup] installing Mesa EGL for off-screen rendering (apt)"
            apt-get update -qq >/dev/null
            DEBIAN_FRONTEND=noninteractive apt-get install -y -qq libegl1 libegl-mesa0 libgl1-mesa-dri libgl1 libxrender1 >/dev/null
        else
            echo "[setup] warning: Mesa EGL not found; rendering tests will be skipped" >&2
        fi
    fi
}

setup_python() {
    if [ ! -x "$VENV/bin/python" ]; then
        echo "[setup] creating $VENV"
        "$PY" -m venv "$VENV"
    fi
    if ! "$VENV/bin/python" -c "import torch" 2>/dev/null; then
        echo "[setup] installing torch==2.13.0 (CPU)"
        "$VENV/bin/pip" install -q --disable-pip-version-check torch==2.13.0 2>&1 | grep -v "^WARNING: Location" || true
    fi
    stamp="$VENV/.pihamno-installed"
    if [ ! -f "$stamp" ] || [ pyproject.toml -nt "$stamp" ]; then
        echo "[setup] installing pihamno and its dependencies"
        "$VENV/bin/pip" install -q --disable-pip-version-check -e ".[test,distributed]" 2>&1 | grep -v "^WARNING: Location" || true
        "$VENV/bin/python" -c "import pihamno, fem, torch, skfem, meshio, h5py, pyvista, distributed"
        touch "$stamp"
    fi
}

export VTK_DEFAULT_OPENGL_WINDOW="${VTK_DEFAULT_OPENGL_WINDOW:-vtkEGLRenderWindow}"

case "$task" in
    setup) setup_system; setup_python ;;
    demo)  setup_system; setup_python; "$VENV/bin/python" examples/allen_cahn.py "$@" ;;
    test)  setup_system; setup_python; "$VENV/bin/ruff" check . && "$VENV/bin/python" -m pytest "$@" ;;
    *) echo "usage: bash scripts/dev.sh {demo|test|setup} [args...]" >&2; exit 2 ;;
esac
