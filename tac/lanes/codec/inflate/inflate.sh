#!/usr/bin/env bash
# Contest entry point: inflate.sh ARCHIVE_DIR OUTPUT_DIR VIDEO_NAMES_FILE
# Self-contained: needs only what the official evaluation machine has (python, torch, numpy, av).
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
exec python3 "$HERE/inflate.py" "$@"
