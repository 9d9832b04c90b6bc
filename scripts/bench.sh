#!/usr/bin/env bash
# Steer's benchmark, one command (issue 6). Run as root on Linux:
#
#   scripts/bench.sh [options]          lab benchmark: builds Release, installs the deps, builds the lab in network
#                                       namespaces, prints a table and writes bench/results/<timestamp>.json
#   scripts/bench.sh micro [args]       BenchmarkDotNet micro-benchmarks (args go to BenchmarkDotNet,
#                                       e.g. --filter '*Frame*' --job short)
#
# Lab options (scripts/bench.sh --help lists them all): --quick (1 run instead of 3), --duration S (per iperf3 run,
# default 5), --transport tls,dtls (passed to `steer up --transport`; default: not passed), --only tcp,udp,ping,start,routed.
# STEER_EXE=/path/to/steer measures that binary (e.g. a NativeAOT publish) instead of building src/Steer.Cli.
# The lab sends traffic only inside the namespaces it creates, and removes them when done (also on Ctrl-C).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1 DOTNET_SKIP_FIRST_TIME_EXPERIENCE=1

if ! command -v dotnet >/dev/null 2>&1; then
  echo "bench.sh: dotnet is not on PATH (install the .NET 10 SDK)" >&2
  exit 1
fi

if [[ ${1:-} == micro ]]; then
  shift
  dotnet build bench/Steer.MicroBench/Steer.MicroBench.csproj -c Release -nologo -v q
  cd bench/Steer.MicroBench
  exec dotnet bin/Release/net10.0/Steer.MicroBench.dll "$@"
fi

bash scripts/install-deps.sh

if [[ -z ${STEER_EXE:-} ]]; then
  # What users run: the NativeAOT build (scripts/publish.sh). STEER_JIT=1 measures the JIT build instead.
  if [[ -n ${STEER_JIT:-} ]]; then
    echo "bench.sh: building steer (Release, JIT)" >&2
    dotnet build src/Steer.Cli/Steer.Cli.csproj -c Release -nologo -v q
    export STEER_EXE="$PWD/src/Steer.Cli/bin/Release/net10.0/steer"
  else
    echo "bench.sh: publishing steer (NativeAOT)" >&2
    bash scripts/publish.sh >&2
    export STEER_EXE="$PWD/artifacts/steer-linux-$(uname -m | sed 's/x86_64/x64/; s/aarch64/arm64/')/steer"
  fi
else
  echo "bench.sh: measuring STEER_EXE=$STEER_EXE" >&2
fi

echo "bench.sh: building the benchmark (Release)" >&2
dotnet build bench/Steer.Bench/Steer.Bench.csproj -c Release -nologo -v q
exec dotnet bench/Steer.Bench/bin/Release/net10.0/Steer.Bench.dll "$@"
