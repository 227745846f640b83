#!/usr/bin/env bash
# Contest entry point: inflate.sh ARCHIVE_DIR OUTPUT_DIR VIDEO_NAMES_FILE
# Self-contained: needs python3, torch and numpy (and the library of any coder the payload names).
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
exec python3 "$HERE/inflate.py" "$@"
