#!/usr/bin/env bash
# Runs bench/apply.sh and bench/compose.sh one after the other, RUNS times
# each, so both are measured on the same machine under the same load.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")"
uptime
bash ./compose.sh
bash ./apply.sh
bash ./compose.sh
uptime
