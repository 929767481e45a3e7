#!/usr/bin/env bash
# Run the whole test suite: install what it needs (idempotent), then mypy (strict), ruff and pytest
# (unit tests; the root and registry integration tests too when run as root).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
python3 -m mypy
python3 -m ruff check src tests
python3 -m pytest -q "$@"
