#!/usr/bin/env bash
# Contest entry point: inflate.sh ARCHIVE_DIR OUTPUT_DIR VIDEO_NAMES_FILE
# Self-contained: needs python3, torch and numpy (PyAV for a video-coded mask stream, brotli for
# a brotli-coded one: both on the official machine).
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
exec python3 "$HERE/inflate.py" "$@"
