#!/usr/bin/env bash
# Set up (first time) and start MoodTunes: the bots whose tokens are set, else the console chat.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
exec .venv/bin/moodtunes run "$@"
