# Sourced by the break gates (scripts/api-gate.sh, scripts/proto-gate.sh), so that both compare the
# working tree with the same base and honour the same approval.
#
# The base, unless API_DIFF_BASE names one (CI names the pull request's base branch):
#   - on a branch other than main: the merge base with main (origin/main when it exists);
#   - on main (or a detached HEAD, as CI checks out): the previous commit, or HEAD itself when
#     a gated file has uncommitted changes (then those changes are what is under review).
# Without a base (a first commit, a shallow clone) the gate says so and passes.

gate_git_ok() { git rev-parse --verify --quiet "$1^{commit}" >/dev/null; }

# gate_pick_base <gate name> <gated path>...: sets `base`, or exits the calling gate with a pass
# when there is nothing to compare against.
gate_pick_base() {
  local gate="$1"
  shift
  base="${API_DIFF_BASE:-}"
  if [ -n "$base" ]; then return 0; fi
  if ! git rev-parse --git-dir >/dev/null 2>&1; then
    echo "$gate: not a git checkout; nothing to compare against (pass)"
    exit 0
  fi
  local branch main_ref="" candidate
  branch="$(git symbolic-ref --quiet --short HEAD || true)"
  for candidate in origin/main main; do
    if gate_git_ok "$candidate"; then main_ref="$candidate"; break; fi
  done
  if [ -n "$branch" ] && [ "$branch" != "main" ] && [ -n "$main_ref" ]; then
    base="$(git merge-base HEAD "$main_ref")"
  elif ! git diff --quiet HEAD -- "$@" 2>/dev/null; then
    base=HEAD
  elif gate_git_ok HEAD~1; then
    base="$(git rev-parse HEAD~1)"
  else
    echo "$gate: no previous commit to compare against (pass)"
    exit 0
  fi
}

# gate_approval <base>: prints "<commit> <reason>" for the first commit between the base and HEAD
# carrying a `Breaking-Change-Approved: <reason>` trailer, or nothing. Uncommitted changes (base
# HEAD) have no commit to carry one.
gate_approval() {
  if [ "$1" = "HEAD" ]; then return 0; fi
  # awk reads to the end rather than stopping at the first match, so git log never meets a closed
  # pipe (which pipefail would turn into a failed gate).
  git log --format='%h %(trailers:key=Breaking-Change-Approved,valueonly,separator=%x20)' "$1..HEAD" |
    awk 'NF > 1 && !found { print; found = 1 }'
}

# gate_allowed <gate> <variable> <base>: whether a break the gate found is let through, by
# <variable>=1 or by a `Breaking-Change-Approved:` trailer, saying which; fails when neither.
gate_allowed() {
  local gate="$1" variable="$2" base="$3" approval
  if [ "${!variable:-}" = "1" ]; then
    echo "$gate: breaking changes allowed by $variable=1"
    return 0
  fi
  approval="$(gate_approval "$base")"
  if [ -n "$approval" ]; then
    echo "$gate: breaking changes approved in commit ${approval%% *}: ${approval#* }"
    return 0
  fi
  return 1
}
