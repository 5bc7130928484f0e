#!/usr/bin/env bash
# stackctl-ci.sh: the three jobs of a GitOps pipeline for one stack file, so
# that the GitHub Actions workflow and the GitLab CI file beside it are thin
# wrappers around the same commands, and a test (cmd/stackctl's
# TestGitOpsExamplesAgainstALocalRepository) can run exactly what they run.
#
#   stackctl-ci.sh plan    on a pull request: validate, plan, write the PR
#                          comment (plan.md) and the saved plan (stackctl.plan)
#   stackctl-ci.sh apply   on merge: apply the saved plan of this commit;
#                          refuses a plan the live state has moved away from
#   stackctl-ci.sh drift   on a schedule: fail when live state is not the file
#
# Settings (environment):
#   STACK_FILE  the stack file (default stack.yaml)
#   STACK_ENV   an environment overlay name (stackctl -e), optional
#   STACKCTL    the stackctl binary (default: stackctl on PATH)
#   OUT         where plan.md, stackctl.plan, apply.jsonl and drift.md go
#               (default: the current folder)
#
# Exit codes: 0 done (plan: with or without changes; drift: none);
# 1 an error (invalid stack file, unreachable engine, a stale saved plan);
# 2 drift found (drift only); 3 the apply failed and was rolled back: the
# stack is as it was before the merge.
set -uo pipefail

STACK_FILE=${STACK_FILE:-stack.yaml}
STACKCTL=${STACKCTL:-stackctl}
OUT=${OUT:-.}
env_args=()
if [[ -n "${STACK_ENV:-}" ]]; then env_args=(-e "$STACK_ENV"); fi

# A stackctl exit code the pipeline does not expect is passed on as is.
plan() {
	"$STACKCTL" validate -f "$STACK_FILE" "${env_args[@]}" || return 1
	"$STACKCTL" plan -f "$STACK_FILE" "${env_args[@]}" -out "$OUT/stackctl.plan" \
		--format markdown --detailed-exitcode >"$OUT/plan.md"
	case $? in
	0) echo "stackctl-ci: no changes" ;;
	2) echo "stackctl-ci: the plan has changes; saved to $OUT/stackctl.plan" ;;
	*) return 1 ;;
	esac
}

apply() {
	if [[ ! -f "$OUT/stackctl.plan" ]]; then
		echo "stackctl-ci: no saved plan at $OUT/stackctl.plan: run the plan job first" >&2
		return 1
	fi
	# The saved plan is applied as it is, or refused when the live state or
	# the stack file moved since it was made (re-run the pipeline then):
	# what was reviewed is what runs.
	"$STACKCTL" apply "$OUT/stackctl.plan" --json >"$OUT/apply.jsonl"
	local rc=$?
	case $rc in
	0) echo "stackctl-ci: applied" ;;
	3) echo "stackctl-ci: the apply failed and was rolled back; the stack is as it was before" >&2 ;;
	*) echo "stackctl-ci: the apply failed (exit $rc); see $OUT/apply.jsonl" >&2 ;;
	esac
	return $rc
}

drift() {
	"$STACKCTL" plan -f "$STACK_FILE" "${env_args[@]}" --format markdown --detailed-exitcode >"$OUT/drift.md"
	local rc=$?
	case $rc in
	0) echo "stackctl-ci: no drift" ;;
	2) echo "stackctl-ci: live state drifted from $STACK_FILE; see $OUT/drift.md" >&2 ;;
	esac
	return $rc
}

case "${1:-}" in
plan | apply | drift) "$1" ;;
*)
	echo "usage: stackctl-ci.sh plan|apply|drift" >&2
	exit 64
	;;
esac
