#!/usr/bin/env bash
# Set up (first time) and run the whole test suite.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh test
.venv/bin/ruff check .  # lint first: configured in pyproject.toml
export TF_CPP_MIN_LOG_LEVEL=3
exec .venv/bin/python -m pytest -q "$@"
