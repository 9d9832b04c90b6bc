#!/usr/bin/env bash
# Installs the dependencies, then builds and runs every test of the solution. Extra arguments go to `dotnet test`
# (e.g. --filter "FullyQualifiedName~Lab"). The lab tests need root; with CI=true they fail instead of skipping.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

bash scripts/install-deps.sh

if ! command -v dotnet >/dev/null 2>&1; then
  echo "test.sh: dotnet is not on PATH (install the .NET 10 SDK)" >&2
  exit 1
fi

export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1 DOTNET_SKIP_FIRST_TIME_EXPERIENCE=1

# Every shipped runtime identifier must keep compiling, including the ones whose code cannot run here.
bash scripts/build-all-rids.sh

log=$(mktemp)
trap 'rm -f "$log"' EXIT

# verbosity=detailed lists every test (Passed/Failed/Skipped) with each skip reason right under its "Skipped" line
# (at "normal" the reason only shows in the adapter's interleaved [xUnit.net] lines).
# A hung test run is killed after 20 minutes so it cannot eat CI's whole time budget.
set +e
dotnet test Steer.sln -c Release \
  --logger "console;verbosity=detailed" \
  --blame-hang-timeout 20m --blame-hang-dump-type none \
  "$@" 2>&1 | tee "$log"
status=${PIPESTATUS[0]}
set -e

# One closing line over all test projects, in the plain 'N passed, N failed, N skipped' form.
awk '
  /^[[:space:]]*Passed:[[:space:]]*[0-9]+[[:space:]]*$/  { passed  += $2 }
  /^[[:space:]]*Failed:[[:space:]]*[0-9]+[[:space:]]*$/  { failed  += $2 }
  /^[[:space:]]*Skipped:[[:space:]]*[0-9]+[[:space:]]*$/ { skipped += $2 }
  /^[[:space:]]*Total tests:[[:space:]]*[0-9]+/          { total   += $3 }
  END {
    if (total == 0) { print "test.sh: no test ran" > "/dev/stderr" }
    printf "Tests: %d passed, %d failed, %d skipped\n", passed, failed, skipped
  }
' "$log"

exit "$status"
