#!/bin/sh
# Runs the aiogram comparison bot against a Bot API server (the emulator in the benchmark).
# Creates a virtualenv beside this script on first use and installs aiogram 3 from PyPI.
#   API_URL=http://127.0.0.1:PORT BOT_TOKEN=123:abc DB=/tmp/bot.sqlite FAQ=faq.csv ./run.sh
set -eu
here=$(cd "$(dirname "$0")" && pwd)
venv="${AIOGRAM_VENV:-$here/.venv}"
if [ ! -x "$venv/bin/python" ]; then
    python3 -m venv "$venv"
    "$venv/bin/pip" install --quiet 'aiogram>=3.4,<4'
fi
exec "$venv/bin/python" "$here/bot.py"
