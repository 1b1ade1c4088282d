#!/bin/sh
# The spec's load test: N records from C concurrent clients against a running collector.
# Usage: scripts/load_test.sh N C [more `sluice load` options, e.g. --verify "$DATABASE_URL"]
set -eu
if [ $# -lt 2 ]; then
  echo "usage: $0 N C [sluice load options]   (sluice load --help for the options)" >&2
  exit 2
fi
n=$1
c=$2
shift 2
cd "$(dirname "$0")/.."
node scripts/ensure-build.mjs
exec node bin/sluice.js load --records "$n" --clients "$c" "$@"
