#!/usr/bin/env bash
# Installs the Debian packages tinyforge needs: the Arm cross toolchain + newlib (firmware and
# generated C), QEMU (the emulated Cortex-M4F board), Chromium (real-browser runtime tests), socat
# (pty pairs for serial tests). Idempotent: installs only what is missing.
set -euo pipefail
need=()
command -v arm-none-eabi-gcc >/dev/null || need+=(gcc-arm-none-eabi)
[ -e /usr/lib/arm-none-eabi/newlib ] || [ -e /usr/lib/arm-none-eabi/lib ] || need+=(libnewlib-arm-none-eabi)
dpkg -s libnewlib-arm-none-eabi >/dev/null 2>&1 || need+=(libnewlib-arm-none-eabi)
command -v qemu-system-arm >/dev/null || need+=(qemu-system-arm)
command -v chromium >/dev/null || need+=(chromium)
command -v socat >/dev/null || need+=(socat)
command -v gcc >/dev/null || need+=(gcc)
if [ ${#need[@]} -eq 0 ]; then echo "system packages: all present"; exit 0; fi
# de-duplicate
mapfile -t need < <(printf '%s\n' "${need[@]}" | sort -u)
echo "installing: ${need[*]}"
SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${need[@]}"
