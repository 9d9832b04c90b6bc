#!/usr/bin/env bash
# Compiles the steer CLI (and with it every library) for each runtime identifier Steer ships for, so that nothing
# silently stops compiling on a system the tests here cannot run on. Stops at the first failure.
#
#   scripts/build-all-rids.sh              # all six RIDs
#   scripts/build-all-rids.sh osx-arm64    # only the RIDs named
#
# Each RID is a Release, framework-dependent build (--no-self-contained) into artifacts/rids/, apart from the normal
# bin/ and obj/ folders; the RID-agnostic libraries compile once, steer itself once per RID. It needs nothing but the
# .NET SDK and NuGet packages.
#
# By default the build does not download the per-RID runtime and apphost packs (EnableRuntimePackDownload=false,
# UseAppHost=false), because the NuGet feed this project's machines and CI reach has none for win-arm64. Without a
# runtime pack the SDK cannot run the RID-specific trim/AOT analysis, so IsAotCompatible and the AOT, trim and
# single-file analyzers are off for these builds only; the ordinary RID-less build (dotnet build / scripts/test.sh)
# keeps every analyzer, including CA1416. With STEER_RID_BUILD_FULL=1 (on a feed that has every pack, such as
# nuget.org) each RID gets the apphost (steer / steer.exe) and the trim/AOT analyzers too.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

rids=("$@")
if [[ ${#rids[@]} -eq 0 ]]; then
  rids=(linux-x64 linux-arm64 osx-arm64 osx-x64 win-x64 win-arm64)
fi

if ! command -v dotnet >/dev/null 2>&1; then
  echo "build-all-rids: dotnet is not on PATH (install the .NET 10 SDK)" >&2
  exit 1
fi

export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1 DOTNET_SKIP_FIRST_TIME_EXPERIENCE=1

mode_args=(-p:UseAppHost=false -p:EnableRuntimePackDownload=false -p:IsAotCompatible=false
  -p:EnableAotAnalyzer=false -p:EnableTrimAnalyzer=false -p:EnableSingleFileAnalyzer=false)
mode="framework-dependent, no apphost, no runtime pack"
if [[ ${STEER_RID_BUILD_FULL:-0} == 1 ]]; then
  mode_args=()
  mode="framework-dependent, apphost, trim/AOT analyzers"
fi

for rid in "${rids[@]}"; do
  echo "build-all-rids: $rid ($mode)" >&2
  if ! dotnet build src/Steer.Cli -c Release -r "$rid" --no-self-contained \
      --artifacts-path artifacts/rids -nologo -clp:NoSummary "${mode_args[@]}"; then
    echo "build-all-rids: FAILED for $rid" >&2
    exit 1
  fi
done

echo "build-all-rids: ${#rids[@]} runtime identifiers built: ${rids[*]}" >&2
