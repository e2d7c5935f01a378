#!/usr/bin/env bash
# Create .venv and install MoodTunes into it, only when needed: the first time, when pyproject.toml changed, or
# when extras not installed yet are asked for (arguments are pip extras, e.g. "test"). Otherwise it does nothing,
# so a set-up checkout starts without network.
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON="${PYTHON:-python3}"
STAMP=.venv/moodtunes-install.txt  # line 1: sha256 of the pyproject.toml installed from; line 2: its extras

if [ ! -x .venv/bin/python ]; then
  "$PYTHON" -m venv .venv
fi
extras_set() { tr ', ' '\n\n' | sed '/^$/d' | sort -u | paste -sd, -; }
project_hash=$(.venv/bin/python -c \
  'import hashlib; print(hashlib.sha256(open("pyproject.toml", "rb").read()).hexdigest())')
installed_hash=""
installed_extras=""
if [ -f "$STAMP" ]; then
  installed_hash=$(sed -n 1p "$STAMP")
  installed_extras=$(sed -n 2p "$STAMP")
fi
extras=$(printf '%s\n' "$@" "$installed_extras" | extras_set)  # never drop extras installed before
if [ "$project_hash" = "$installed_hash" ] && [ "$extras" = "$installed_extras" ] && [ -x .venv/bin/moodtunes ]; then
  exit 0
fi
echo "Installing MoodTunes${extras:+ [$extras]} into .venv ..." >&2
.venv/bin/python -m pip install --quiet --disable-pip-version-check -e ".${extras:+[$extras]}"
printf '%s\n%s\n' "$project_hash" "$extras" > "$STAMP"
