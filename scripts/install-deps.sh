#!/usr/bin/env bash
# Installs what Steer's lab (`steer lab up|down|demo`) and its tests need on Debian/Ubuntu, and makes sure
# /dev/net/tun exists. Idempotent and non-interactive: it does nothing when everything is there, and runs
# `apt-get update` only when a package is missing. Runs as root, or through sudo when not root.
set -euo pipefail

# dbus-daemon: the DNS tests start a private bus of their own (never the system bus) with a fake systemd-resolved.
packages=(iproute2 nftables iperf3 curl procps iputils-ping dnsmasq-base dbus-daemon)

log() { printf 'install-deps: %s\n' "$*" >&2; }

sudo_cmd=()
if [[ $(id -u) -ne 0 ]]; then
  if ! command -v sudo >/dev/null 2>&1; then
    log "not root and sudo is missing: run this script as root"
    exit 1
  fi
  sudo_cmd=(sudo)
fi
as_root() { "${sudo_cmd[@]}" "$@"; }

is_installed() {
  dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q '^install ok installed$'
}

missing=()
if command -v dpkg-query >/dev/null 2>&1; then
  for package in "${packages[@]}"; do
    is_installed "$package" || missing+=("$package")
  done
else
  # Not Debian: only check the commands and say what is missing.
  for command in ip nft iperf3 curl sysctl ping dnsmasq dbus-daemon; do
    command -v "$command" >/dev/null 2>&1 || missing+=("$command")
  done
  if ((${#missing[@]} > 0)); then
    log "no apt here; install the packages that provide: ${missing[*]}"
    exit 1
  fi
fi

if ((${#missing[@]} > 0)); then
  log "installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  # iperf3 asks whether to start a daemon: answer no before it asks.
  echo 'iperf3 iperf3/start_daemon boolean false' | as_root debconf-set-selections
  # Other apt users on the machine may hold the lists lock: retry a few times (bounded).
  for attempt in 1 2 3 4 5; do
    if as_root env DEBIAN_FRONTEND=noninteractive apt-get update -q -o DPkg::Lock::Timeout=120; then
      break
    fi
    if ((attempt == 5)); then
      log "apt-get update failed"
      exit 1
    fi
    sleep 10
  done
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends \
    -o DPkg::Lock::Timeout=300 -o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold \
    "${missing[@]}" </dev/null
else
  log "packages present: ${packages[*]}"
fi

# The Steer client needs the TUN clone device.
if [[ ! -c /dev/net/tun ]]; then
  if command -v modprobe >/dev/null 2>&1; then
    as_root modprobe tun 2>/dev/null || true
  fi
  if [[ ! -c /dev/net/tun ]]; then
    as_root mkdir -p /dev/net
    if as_root mknod /dev/net/tun c 10 200 2>/dev/null; then
      as_root chmod 0666 /dev/net/tun
    fi
  fi
  if [[ -c /dev/net/tun ]]; then
    log "/dev/net/tun is ready"
  else
    log "warning: /dev/net/tun is still missing (no tun module and mknod not allowed); the Steer client cannot run here"
  fi
fi
