#!/usr/bin/env bash
# Raspberry Pi proof without a Pi: install pawlite's wheel into an arm64 Debian Bookworm
# userland (the base of 64-bit Raspberry Pi OS, Python 3.11) running under qemu user-mode
# emulation, classify a fixed folder of real images there and on the host, and compare.
#
# `make pi-check` runs this as root (debootstrap, chroot and binfmt need it). The root
# filesystem is built once and cached; the venv inside is rebuilt every run, so every run proves
# a fresh `pip install pawlite-*.whl` (pip's download cache inside the root is kept).
#
# Each run emulates one Raspberry Pi model: qemu runs that board's CPU (QEMU_CPU) and the root
# sees its /proc/cpuinfo and a 4-core /sys/devices/system/cpu, so LiteRT's XNNPACK picks the
# kernels it would pick on that Pi (with qemu's default "max" CPU it picks kernels that qemu 7.2
# emulates wrongly; without /sys it silently runs without XNNPACK).
#
# Usage: scripts/pi_check.sh [--model PATH] [--data-zip PATH] [--cache DIR] [--out DIR]
#                            [--devices pi3,pi4,pi5] [--rebuild-rootfs]
# Env: PI_CACHE (default ~/.cache/pawlite/pi-rootfs), PI_OUT (default artifacts/pi),
#      PI_DEVICES (default "pi3 pi4 pi5": Cortex-A53, A72, A76),
#      PI_DATA_ZIP (default ../shared/data/ or ~/.keras/datasets/cats_and_dogs_filtered.zip),
#      PI_MIRROR (Debian mirror), PYTHON (host python with pawlite installed, default .venv).
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)

cache=${PI_CACHE:-$HOME/.cache/pawlite/pi-rootfs}
out=${PI_OUT:-artifacts/pi}
mirror=${PI_MIRROR:-http://deb.debian.org/debian}
python=${PYTHON:-.venv/bin/python}
model=""
rebuild=0
zip=${PI_DATA_ZIP:-}
devices=${PI_DEVICES:-pi3 pi4 pi5}
qemu_cpu=""

die() { echo "pi-check: error: $*" >&2; exit 2; }
say() { echo "pi-check: $*" >&2; }
usage() { sed -n '2,20p' "$0" | sed 's/^# \{0,1\}//'; }

while [ $# -gt 0 ]; do
  case $1 in
    --model|--cache|--out|--data-zip|--devices) [ $# -ge 2 ] || die "$1 needs a value" ;;
  esac
  case $1 in
    --model) model=$(realpath -m "$2"); shift 2 ;;
    --cache) cache=$(realpath -m "$2"); shift 2 ;;
    --out) out=$(realpath -m "$2"); shift 2 ;;
    --data-zip) zip=$(realpath -m "$2"); shift 2 ;;
    --devices) devices=${2//,/ }; shift 2 ;;
    --rebuild-rootfs) rebuild=1; shift ;;
    -h|--help) usage; exit 0 ;;
    *) die "unknown option '$1' (see --help)" ;;
  esac
done
cd "$repo"

[ "$(id -u)" = 0 ] || die "needs root (debootstrap, chroot, binfmt_misc); run it with sudo"
[ -x "$python" ] || die "$python not found; run 'make install' first (or set PYTHON=...)"
python=$(realpath -s "$python")
for device in $devices; do
  "$python" scripts/pi_check.py qemu-cpu "$device" >/dev/null 2>&1 \
    || die "unknown device '$device' in --devices/PI_DEVICES (known: pi3 pi4 pi5)"
done
edge_classify=$(dirname "$python")/edge-classify
[ -x "$edge_classify" ] || die "$edge_classify not found; run 'make install' first"
if [ -z "$zip" ]; then  # the offline copy next to the repo, else the one `make train` downloaded
  for zip in ../shared/data/cats_and_dogs_filtered.zip "$HOME/.keras/datasets/cats_and_dogs_filtered.zip"; do
    [ -f "$zip" ] && break
  done
fi
[ -f "$zip" ] || die "dataset zip cats_and_dogs_filtered.zip not found; pass --data-zip PATH \
(or set PI_DATA_ZIP)"
zip=$(realpath "$zip")
if [ -n "$model" ]; then
  [ -f "$model" ] || die "model $model not found"
else
  [ -f edge/models/cats_vs_dogs_int8.tflite ] || \
    die "bundled model edge/models/cats_vs_dogs_int8.tflite missing; run 'make export' or pass --model PATH"
fi
mkdir -p "$cache" "$out"
cache=$(realpath "$cache"); out=$(realpath "$out")
root=$cache/rootfs
start=$(date +%s)
declare -A took

stage() {  # stage NAME COMMAND...: run and record its wall time
  local name=$1 t0; shift
  t0=$(date +%s)
  "$@"
  took[$name]=$(( $(date +%s) - t0 ))
}

ensure_host_tools() {
  local missing=()
  command -v debootstrap >/dev/null || missing+=(debootstrap)
  command -v qemu-aarch64-static >/dev/null || missing+=(qemu-user-static)
  command -v update-binfmts >/dev/null || missing+=(binfmt-support)
  [ ${#missing[@]} = 0 ] && return
  say "installing ${missing[*]} with apt-get"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
}

ensure_binfmt() {
  # qemu-user-static registers with the F flag: the kernel keeps the interpreter open, so the
  # chroot does not need its own copy (one is still copied in for kernels without F).
  if [ ! -e /proc/sys/fs/binfmt_misc/register ]; then
    mount -t binfmt_misc binfmt_misc /proc/sys/fs/binfmt_misc || true
  fi
  [ -e /proc/sys/fs/binfmt_misc/qemu-aarch64 ] || update-binfmts --enable qemu-aarch64 || true
  grep -q enabled /proc/sys/fs/binfmt_misc/qemu-aarch64 2>/dev/null || die \
    "cannot register qemu-aarch64 with binfmt_misc (needs a privileged container or host:
    'mount -t binfmt_misc binfmt_misc /proc/sys/fs/binfmt_misc; update-binfmts --enable
    qemu-aarch64'); debootstrap's second stage and pip run many arm64 programs, so they
    cannot be run one by one through qemu-aarch64-static"
}

mounts=()
mount_root() {
  # A fresh procfs (so a Pi's cpuinfo can be mounted over it without touching the host's) and
  # a /sys holding only the CPU lists cpuinfo needs: the host's real /sys crashes it under qemu.
  local sysfs=$cache/sysfs/devices/system/cpu f
  mkdir -p "$sysfs"
  for f in possible present online; do echo 0-3 >"$sysfs/$f"; done
  mountpoint -q "$root/proc" || { mount -t proc proc "$root/proc"; mounts+=("$root/proc"); }
  mountpoint -q "$root/dev" || { mount --bind /dev "$root/dev"; mounts+=("$root/dev"); }
  mountpoint -q "$root/sys" || { mount --bind "$cache/sysfs" "$root/sys"; mounts+=("$root/sys"); }
}
unmount_root() {
  local i
  for (( i=${#mounts[@]}-1; i>=0; i-- )); do umount -l "${mounts[i]}" 2>/dev/null || true; done
  mounts=()
}
trap unmount_root EXIT
trap 'exit 130' INT TERM

in_root() {  # in_root USER COMMAND: a login-like shell inside the arm64 root
  local user=$1; shift
  local home=/root
  [ "$user" = pi ] && home=/home/pi
  chroot --userspec="$user:$user" "$root" /usr/bin/env -i HOME="$home" LANG=C.UTF-8 \
    ${qemu_cpu:+QEMU_CPU="$qemu_cpu"} \
    PATH=/usr/local/bin:/usr/bin:/bin PIP_DISABLE_PIP_VERSION_CHECK=1 \
    ${pip_index:+PIP_INDEX_URL="$pip_index"} ${pip_cert:+PIP_CERT=/etc/pawlite-pip-ca.crt} \
    /bin/bash -c "$1"
}

build_rootfs() {
  if [ -f "$root/.pawlite-ready" ] && [ $rebuild = 0 ]; then
    say "arm64 root cached at $root"
    return
  fi
  for d in proc dev sys; do
    mountpoint -q "$root/$d" 2>/dev/null && die "$root/$d is still mounted; umount it first"
  done
  rm -rf "$root"
  say "debootstrap arm64 bookworm into $root (first stage, downloads)"
  debootstrap --arch=arm64 --foreign --variant=minbase \
    --include=python3,python3-venv,python3-pip,ca-certificates bookworm "$root" "$mirror" \
    >"$cache/debootstrap.log" 2>&1 || die "debootstrap failed, see $cache/debootstrap.log"
  cp /usr/bin/qemu-aarch64-static "$root/usr/bin/"
  say "debootstrap second stage (emulated arm64)"
  chroot "$root" /debootstrap/debootstrap --second-stage >>"$cache/debootstrap.log" 2>&1 \
    || die "debootstrap second stage failed, see $cache/debootstrap.log"
  chroot "$root" useradd --create-home --uid 1000 --user-group --shell /bin/bash pi
  touch "$root/.pawlite-ready"
}

setup_network() {
  # The root resolves names like the host and trusts the CA bundle the host's pip trusts (a
  # TLS-inspecting proxy's root lives there); it uses the host's index only when that is a
  # real URL (a file:// mirror or find-links folder on the host does not exist inside).
  cp -L /etc/resolv.conf "$root/etc/resolv.conf"
  pip_cert=${PIP_CERT:-$("$python" -m pip config get global.cert 2>/dev/null || true)}
  if [ -n "$pip_cert" ] && [ -f "$pip_cert" ]; then
    cp -L "$pip_cert" "$root/etc/pawlite-pip-ca.crt"
  else
    pip_cert=""
  fi
  pip_index=${PIP_INDEX_URL:-$("$python" -m pip config get global.index-url 2>/dev/null || true)}
  case $pip_index in http://*|https://*) ;; *) pip_index="" ;; esac
  local host=${pip_index#*://}
  host=${host%%/*}
  in_root pi "python3 -c \"import socket; socket.getaddrinfo('${host:-pypi.org}', 443)\"" \
    || die "no DNS inside the arm64 root (check $root/etc/resolv.conf)"
}

build_wheel() {
  rm -rf "$out/dist"
  "$python" -m pip wheel --quiet --no-deps . -w "$out/dist" >"$out/wheel.log" 2>&1 \
    || die "building the wheel failed, see $out/wheel.log"
  wheel=$(ls "$out"/dist/pawlite-*.whl)
  if [ -z "$model" ]; then
    "$python" -c "import sys, zipfile; sys.exit('edge/models/cats_vs_dogs_int8.tflite' not in \
      zipfile.ZipFile(sys.argv[1]).namelist())" "$wheel" \
      || die "$wheel lacks the bundled model; check [tool.setuptools.package-data] in pyproject"
  fi
  say "built $(basename "$wheel") ($(du -k "$wheel" | cut -f1) KiB)"
}

install_on_pi() {
  rm -rf "$root/home/pi/pi-check" "$root/home/pi/pawlite-venv"
  mkdir -p "$root/home/pi/pi-check"
  cp "$wheel" "$root/home/pi/pi-check/"
  cp -r "$out/images" "$root/home/pi/pi-check/images"
  [ -n "$model" ] && cp "$model" "$root/home/pi/pi-check/model.tflite"
  chown -R 1000:1000 "$root/home/pi"
  in_root root "! command -v gcc && ! command -v cc" >/dev/null \
    || die "a C compiler is installed in the arm64 root; the proof needs a compiler-free root"
  in_root pi "cd ~ && python3 -m venv pawlite-venv && pawlite-venv/bin/pip install --quiet \
    --only-binary=:all: pi-check/$(basename "$wheel")" || die "pip install failed inside the arm64 root"
  if in_root pi "~/pawlite-venv/bin/pip show tensorflow tensorflow-cpu" >/dev/null 2>&1; then
    die "TensorFlow got installed in the arm64 venv; pawlite's base install must not pull it in"
  fi
  in_root pi "~/pawlite-venv/bin/pip list --format=freeze" >"$out/pi-packages.txt"
  venv_mib=$(du -sm "$root/home/pi/pawlite-venv" | cut -f1)
}

run_on_pi() {  # run_on_pi DEVICE: edge-classify as on that Raspberry Pi model
  local device=$1 status=0 cpu
  cpu=$("$python" scripts/pi_check.py qemu-cpu "$device")
  "$python" scripts/pi_check.py cpuinfo --device "$device" --out "$out/cpuinfo-$device"
  mount --bind "$out/cpuinfo-$device" "$root/proc/cpuinfo"
  qemu_cpu=$cpu
  in_root pi "cd ~/pi-check && ~/pawlite-venv/bin/edge-classify images \
    ${model:+--model model.tflite} --output $device.jsonl --format jsonl --quiet --verbose \
    2>$device.stderr" || status=$?
  qemu_cpu=""
  umount "$root/proc/cpuinfo"
  cp "$root/home/pi/pi-check/$device.jsonl" "$root/home/pi/pi-check/$device.stderr" "$out/" \
    2>/dev/null || true
  [ $status -le 1 ] || die "edge-classify failed inside the arm64 root as $device (exit \
$status), see $out/$device.stderr"
  say "$device ($cpu) classified (emulated)"
}

run_on_host() {
  local status=0
  (cd "$out" && "$edge_classify" images ${model:+--model "$model"} --output host.jsonl \
    --format jsonl --quiet --verbose 2>host.stderr) || status=$?
  [ $status -le 1 ] || die "edge-classify failed on the host (exit $status), see $out/host.stderr"
}

stage tools ensure_host_tools
ensure_binfmt
stage rootfs build_rootfs
mount_root
setup_network
stage images "$python" scripts/pi_check.py images --zip "$zip" --out "$out/images"
stage wheel build_wheel
stage install install_on_pi
rm -f "$out"/pi*.jsonl "$out"/pi*.stderr "$out"/cpuinfo-*
for device in $devices; do stage "classify_$device" run_on_pi "$device"; done
stage classify_host run_on_host
"$python" scripts/pi_check.py rss --exe "$edge_classify" --images "$out/images" \
  ${model:+--model "$model"} --threads 1 --threads 2 --out "$out/rss.json"
unmount_root

total=$(( $(date +%s) - start ))
say "arm64 venv: ${venv_mib} MiB installed ($(grep -ci . "$out/pi-packages.txt") packages: \
$(tr '\n' ' ' <"$out/pi-packages.txt"))"
runs=() seconds=()
for device in $devices; do
  runs+=("$device=$out/$device.jsonl")
  seconds+=(--seconds "classify_$device=${took[classify_$device]}")
done
say "wall time (s): total $total; rootfs ${took[rootfs]}, wheel ${took[wheel]}, \
pip install (emulated) ${took[install]}, classify 42 files (emulated, each device) \
$(for d in $devices; do printf '%s ' "${took[classify_$d]}"; done); on the host ${took[classify_host]}"
"$python" scripts/pi_check.py compare "$out/host.jsonl" "${runs[@]}" \
  --summary "$out/summary.json" --rss "$out/rss.json" --venv-mib "$venv_mib" --seconds "total=$total" \
  --seconds "rootfs=${took[rootfs]}" --seconds "pip_install=${took[install]}" "${seconds[@]}" \
  --seconds "classify_host=${took[classify_host]}"
