#!/usr/bin/env bash
# Installs the dependencies and runs `steer lab demo` (network namespaces: needs root; uses sudo when not root).
# Extra arguments go to `steer lab demo`.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

bash scripts/install-deps.sh

export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1

if [[ $(id -u) -eq 0 ]]; then
  exec dotnet run --project src/Steer.Cli -c Release -- lab demo "$@"
fi

# Not root: build as this user (no root-owned bin/obj), then run the built program as root.
dotnet build src/Steer.Cli -c Release
exec sudo "$(command -v dotnet)" src/Steer.Cli/bin/Release/net10.0/steer.dll lab demo "$@"
