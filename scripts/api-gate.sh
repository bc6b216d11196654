#!/usr/bin/env bash
# The break gate: compares spec/openapi.yaml with the spec at the base and fails on a breaking
# change, printing the report either way.
#
# The base, unless API_DIFF_BASE names one (scripts/gate-base.sh, shared with the protocol's gate):
#   - on a branch other than main: the merge base with main (origin/main when it exists);
#   - on main (or a detached HEAD, as CI checks out): the previous commit, or HEAD itself when
#     the spec has uncommitted changes (then those changes are what is under review).
# Without a base (a first commit, a shallow clone) the gate says so and passes.
#
# A deliberate break (it ships behind /v2, or removes an operation after its Sunset) is let through
# by a `Breaking-Change-Approved: <reason>` trailer on a commit between the base and HEAD, or by
# API_DIFF_ALLOW_BREAKING=1; the report is still printed.
#
# The comparison is the compiled command (tools/api-diff/dist/cli.js, the @remit/api-diff package's
# bin), rebuilt first when its source is newer (scripts/api-diff-fresh.sh).
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=scripts/gate-base.sh
source scripts/gate-base.sh

SPEC=spec/openapi.yaml
FORMAT="${API_DIFF_FORMAT:-text}"

gate_pick_base "api gate" "$SPEC"

if ! git cat-file -e "$base:$SPEC" 2>/dev/null; then
  echo "api gate: $SPEC does not exist at $base; everything in it is new (pass)"
  exit 0
fi

bash scripts/api-diff-fresh.sh

echo "api gate: $base:$SPEC → $SPEC (working tree)"
status=0
node tools/api-diff/dist/cli.js "$base:$SPEC" "$SPEC" --format "$FORMAT" --fail-on breaking || status=$?

if [ "$status" -eq 1 ]; then
  if gate_allowed "api gate" API_DIFF_ALLOW_BREAKING "$base"; then exit 0; fi
  echo "api gate: FAILED — the spec change above breaks existing clients. Make it additive, ship it behind /v2," >&2
  echo "          or approve it with a 'Breaking-Change-Approved: <reason>' commit trailer." >&2
fi
exit "$status"
