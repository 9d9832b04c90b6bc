#!/usr/bin/env bash
# Publishes `steer` as a NativeAOT executable for this Linux machine into artifacts/steer-linux-<arch>/steer.
# NativeAOT links with clang when present, else with gcc (Debian's default toolchain); no other download is needed.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
arch=$(uname -m | sed 's/x86_64/x64/; s/aarch64/arm64/')
out="artifacts/steer-linux-$arch"
linker=()
command -v clang >/dev/null 2>&1 || linker=(-p:CppCompilerAndLinker=gcc)
dotnet publish src/Steer.Cli/Steer.Cli.csproj -c Release -r "linux-$arch" -p:PublishAot=true "${linker[@]}" -nologo -o "$out"
echo "publish.sh: $out/steer ($(du -h "$out/steer" | cut -f1))"
