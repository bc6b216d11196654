#!/usr/bin/env bash
# The processor protocol's break gate: `buf breaking` of the working tree's module (buf.yaml:
# spec/, rules WIRE_JSON) against the same module at the base, failing on a change that breaks
# either the binary or the JSON encoding, and printing buf's report either way.
#
# The base is the one scripts/api-gate.sh compares with (scripts/gate-base.sh: API_DIFF_BASE, else
# the merge base with main on a branch, the previous commit on main, HEAD when the protocol has
# uncommitted changes). Without a base, or with a base that has no spec/processor.proto, the gate
# says so and passes.
#
# A deliberate break (a new package version, remit.processor.v2, ships beside v1; or both sides
# are deployed together) is let through by the same `Breaking-Change-Approved: <reason>` commit
# trailer as the API gate, or by PROTO_ALLOW_BREAKING=1. The variable is not API_DIFF_ALLOW_BREAKING
# so that waving an OpenAPI break through by hand does not also wave through a protocol break.
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=scripts/gate-base.sh
source scripts/gate-base.sh

PROTO=spec/processor.proto
FORMAT="${PROTO_GATE_FORMAT:-text}"
# The binary `npx buf` would run (@bufbuild/buf, a dev dependency), without npm's start-up time.
buf=(npx buf)
if [ -x node_modules/.bin/buf ]; then buf=(node_modules/.bin/buf); fi

gate_pick_base "proto gate" "$PROTO" buf.yaml

if ! git cat-file -e "$base:$PROTO" 2>/dev/null; then
  echo "proto gate: $PROTO does not exist at $base; everything in it is new (pass)"
  exit 0
fi

# buf reads the base through its git input, fetching it from this repository into a clone of its
# own. It is given the full commit id git picked, so that a name such as HEAD or origin/main is
# never resolved a second time, in that clone.
commit="$(git rev-parse --verify "$base^{commit}")"
against="$(git rev-parse --path-format=absolute --git-common-dir)#format=git,ref=$commit"
against_config=()
# A base from before buf.yaml is read with today's module layout.
if ! git cat-file -e "$commit:buf.yaml" 2>/dev/null; then against_config=(--against-config buf.yaml); fi

echo "proto gate: $base:spec → spec (working tree), buf breaking (rules in buf.yaml)"
status=0
"${buf[@]}" breaking --against "$against" "${against_config[@]}" --error-format "$FORMAT" || status=$?

# buf exits 100 when it found breaking changes; anything else non-zero is a failure to compare
# (a file that does not compile, say), which no approval lets through.
if [ "$status" -eq 100 ]; then
  if gate_allowed "proto gate" PROTO_ALLOW_BREAKING "$base"; then exit 0; fi
  echo "proto gate: FAILED — the protocol change above breaks the adapter or the processor on one side" >&2
  echo "            of a deploy. Make it additive (new fields and rpcs; reserve what is removed), ship" >&2
  echo "            remit.processor.v2 beside v1, or approve it with a 'Breaking-Change-Approved: <reason>'" >&2
  echo "            commit trailer." >&2
fi
exit "$status"
