#!/usr/bin/env bash
# Run the whole test suite (unit tests; root and registry integration tests when run as root).
set -euo pipefail
cd "$(dirname "$0")/.."
python3 -m mypy
python3 -m ruff check src tests
python3 -m pytest -q "$@"
