#!/usr/bin/env bash
# Builds the api-diff command (tools/api-diff/dist, `npm run -s api-diff:build`) when it is missing
# or older than anything it is built from, so that what runs is the source as it is: the gate and
# the reports run the compiled command, never a stale one.
set -euo pipefail
cd "$(dirname "$0")/.."

dist=tools/api-diff/dist/cli.js
if [ ! -f "$dist" ] || [ -n "$(find tools/api-diff/src tools/api-diff/tsconfig.build.json tools/api-diff/package.json -newer "$dist" -print -quit)" ]; then
  echo "api-diff: building tools/api-diff/dist from its source" >&2
  rm -rf tools/api-diff/dist
  npm run -s api-diff:build
fi
