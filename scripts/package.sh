#!/usr/bin/env bash
# package.sh: builds the Debian packages of chaos for amd64 with dpkg-deb, without the network.
#
#   chaos        /usr/bin/chaos and /usr/bin/chaos-remote (chaos execs it from its own directory),
#                chaos-controller.service (installed, not enabled), chaos(1), bash/zsh/fish completions,
#                the JSON Schemas (/usr/share/chaos/schema), README, examples, copyright, changelog
#   chaos-agent  /usr/bin/chaos-agent, chaos-agent.service (enabled, not started), /etc/chaos/agent.yaml
#                (a conffile), chaos-agent(8); Depends: chaos (= the same version)
#
# Maintainer scripts: scripts/packaging/{chaos,chaos-agent}.{postinst,prerm,postrm}; man pages are rendered
# from the binaries' own help (scripts/packaging/manpage.py). See docs/operations.md, "Packages".
set -euo pipefail

readonly PROGRAM="package.sh"
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
readonly ROOT
readonly PACKAGING="$ROOT/scripts/packaging"
readonly ARCH=amd64
readonly PRODUCTS=(chaos chaos-remote chaos-agent)

die() {
    printf '%s: %s\n' "$PROGRAM" "$*" >&2
    exit 1
}

usage() {
    cat <<'EOF'
usage: scripts/package.sh [--version V] [--bin-dir DIR] [--out DIR] [--compression xz|gzip|none]

Builds dist/chaos_V_amd64.deb and dist/chaos-agent_V_amd64.deb.

  --version V     the package version (default: from `git describe --tags`, a leading "v" dropped and
                  "-N-gSHA" written "+gitN.SHA"; without a tag 0.0.0+git<commits>.<short sha>)
  --bin-dir DIR   where the built chaos, chaos-remote and chaos-agent are (default: build a static
                  release: swift build -c release --static-swift-stdlib --scratch-path .build-static)
  --out DIR       where the packages go (default: dist/)
  --compression C dpkg-deb's compressor: xz (the default, smallest), gzip (level 1, fast: for tests),
                  or none
  --help          this text

Needs dpkg-deb, dpkg-shlibdeps (dpkg-dev), binutils (strip, readelf), python3 and gzip; no network.
Binaries are stripped; their sizes before and after, and the packages' sizes, are printed.
EOF
}

version=""
bin_dir=""
out_dir="$ROOT/dist"
compression=xz
while [[ $# -gt 0 ]]; do
    case "$1" in
        --version) [[ $# -ge 2 ]] || die "--version needs a value, e.g. '--version 1.2.0'."; version="$2"; shift 2 ;;
        --version=*) version="${1#*=}"; shift ;;
        --bin-dir) [[ $# -ge 2 ]] || die "--bin-dir needs a directory, e.g. '--bin-dir .build/release'."; bin_dir="$2"; shift 2 ;;
        --bin-dir=*) bin_dir="${1#*=}"; shift ;;
        --out) [[ $# -ge 2 ]] || die "--out needs a directory, e.g. '--out dist'."; out_dir="$2"; shift 2 ;;
        --out=*) out_dir="${1#*=}"; shift ;;
        --compression) [[ $# -ge 2 ]] || die "--compression needs xz, gzip or none."; compression="$2"; shift 2 ;;
        --compression=*) compression="${1#*=}"; shift ;;
        -h | --help) usage; exit 0 ;;
        *) usage >&2; die "unknown argument '$1'." ;;
    esac
done

case "$compression" in
    xz) compress=(-Zxz) ;;
    gzip) compress=(-Zgzip -z1) ;;
    none) compress=(-Znone) ;;
    *) die "unknown compression '$compression'; use xz, gzip or none." ;;
esac

for tool in dpkg-deb dpkg-shlibdeps strip readelf python3 gzip git; do
    command -v "$tool" >/dev/null || die "'$tool' is missing; install it (apt-get install dpkg-dev binutils python3 gzip git)."
done

# --- Version and date -------------------------------------------------------------------------------

if [[ -z "$version" ]]; then
    if described="$(git -C "$ROOT" describe --tags 2>/dev/null)"; then
        described="${described#v}"
        if [[ "$described" =~ ^(.*)-([0-9]+)-g([0-9a-f]+)$ ]]; then
            version="${BASH_REMATCH[1]}+git${BASH_REMATCH[2]}.${BASH_REMATCH[3]}"
        else
            version="$described"
        fi
    elif sha="$(git -C "$ROOT" rev-parse --short=7 HEAD 2>/dev/null)"; then
        # The commit count first, so that later commits sort higher (apt upgrades to them).
        version="0.0.0+git$(git -C "$ROOT" rev-list --count HEAD).$sha"
    else
        die "'$ROOT' is not a git checkout; give the version with '--version V'."
    fi
fi
# Debian's version syntax for a native package (no '-revision'): starts with a digit.
[[ "$version" =~ ^[0-9][A-Za-z0-9.+~]*$ ]] ||
    die "version '$version' is not a Debian version: use digits, letters, '.', '+' and '~', starting with a digit (e.g. 1.2.0 or 1.2.0+git3.abc1234)."

# Dates of the changelog and file times: the last commit's, so the same commit gives the same packages.
if [[ -z "${SOURCE_DATE_EPOCH:-}" ]]; then
    SOURCE_DATE_EPOCH="$(git -C "$ROOT" log -1 --format=%ct 2>/dev/null || date +%s)"
fi
export SOURCE_DATE_EPOCH
changelog_date="$(LC_ALL=C date -u -R -d "@$SOURCE_DATE_EPOCH")"
man_date="$(date -u +%Y-%m-%d -d "@$SOURCE_DATE_EPOCH")"
commit="$(git -C "$ROOT" rev-parse --short=12 HEAD 2>/dev/null || echo unknown)"
# Who answers for the packages: CHAOS_MAINTAINER="Name <address>", else a placeholder to replace.
maintainer="${CHAOS_MAINTAINER:-chaos maintainers <chaos-maintainers@example.org>}"
first_year="$(git -C "$ROOT" log --reverse --format=%cd --date=format:%Y 2>/dev/null | sed -n 1p)" || first_year=""
last_year="$(date -u +%Y -d "@$SOURCE_DATE_EPOCH")"
years="${first_year:-$last_year}"
[[ "$years" == "$last_year" ]] || years="$years-$last_year"

# --- Binaries --------------------------------------------------------------------------------------

if [[ -z "$bin_dir" ]]; then
    echo "Building a static release (swift build -c release --static-swift-stdlib --scratch-path .build-static)..."
    command -v swift >/dev/null || die "'swift' is not on PATH; install a Swift toolchain, or give built binaries with '--bin-dir DIR'."
    for product in "${PRODUCTS[@]}"; do
        (cd "$ROOT" && swift build -c release --static-swift-stdlib --scratch-path "$ROOT/.build-static" --product "$product") ||
            die "'swift build --product $product' failed (output above)."
    done
    bin_dir="$ROOT/.build-static/release"
fi
bin_dir="$(cd "$bin_dir" 2>/dev/null && pwd)" || die "the binary directory '$bin_dir' does not exist."
for product in "${PRODUCTS[@]}"; do
    [[ -x "$bin_dir/$product" && -f "$bin_dir/$product" ]] ||
        die "'$bin_dir/$product' is missing or not executable; build it (swift build --product $product) or pass another '--bin-dir'."
    machine="$(LC_ALL=C readelf -h "$bin_dir/$product" 2>/dev/null | awk -F: '/Machine:/ { gsub(/^ +/, "", $2); print $2 }')"
    [[ "$machine" == "Advanced Micro Devices X86-64" ]] ||
        die "'$bin_dir/$product' is not an x86-64 ELF executable (readelf says '${machine:-not ELF}'); these packages are for $ARCH."
done

mkdir -p -- "$out_dir"
out_dir="$(cd "$out_dir" && pwd)"
umask 022
work="$(mktemp -d "${TMPDIR:-/tmp}/chaos-package-XXXXXX")"
trap 'rm -rf -- "$work"' EXIT

readonly CHAOS="$work/chaos"
readonly AGENT="$work/chaos-agent"
mkdir -p "$CHAOS/DEBIAN" "$CHAOS/usr/bin" "$AGENT/DEBIAN" "$AGENT/usr/bin"

human() { numfmt --to=iec-i --suffix=B --format='%.1f' "$1"; }

echo "Binaries from $bin_dir (stripped with strip --remove-section=.comment --remove-section=.note):"
printf '  %-14s %12s %12s\n' binary before after
total_before=0
total_after=0
for product in "${PRODUCTS[@]}"; do
    if [[ "$product" == chaos-agent ]]; then dest="$AGENT/usr/bin/$product"; else dest="$CHAOS/usr/bin/$product"; fi
    install -m 0755 "$bin_dir/$product" "$dest"
    before="$(stat -c %s "$dest")"
    strip --remove-section=.comment --remove-section=.note "$dest"
    after="$(stat -c %s "$dest")"
    total_before=$((total_before + before))
    total_after=$((total_after + after))
    printf '  %-14s %12s %12s\n' "$product" "$(human "$before")" "$(human "$after")"
done
printf '  %-14s %12s %12s\n' total "$(human "$total_before")" "$(human "$total_after")"

# The stripped binaries must still run: their own help makes the man pages and completions below.
run() {
    local binary="$1"
    shift
    CHAOS_STATE_DIR="$work/state" HOME="$work" "$binary" "$@"
}
run "$CHAOS/usr/bin/chaos" --help >/dev/null || die "the stripped 'chaos' does not run ('chaos --help' failed)."

# --- Man pages -------------------------------------------------------------------------------------

man1="$CHAOS/usr/share/man/man1"
man8="$AGENT/usr/share/man/man8"
mkdir -p "$man1" "$man8"
run "$CHAOS/usr/bin/chaos" --experimental-dump-help >"$work/chaos.json" ||
    die "'chaos --experimental-dump-help' failed."
run "$AGENT/usr/bin/chaos-agent" --experimental-dump-help >"$work/chaos-agent.json" ||
    die "'chaos-agent --experimental-dump-help' failed."
python3 "$PACKAGING/manpage.py" --section 1 --version "$version" --date "$man_date" \
    --extra "$PACKAGING/chaos.1.extra" --see-also "chaos-agent(8),systemctl(1),nft(8),tc(8)" \
    <"$work/chaos.json" >"$man1/chaos.1"
python3 "$PACKAGING/manpage.py" --section 8 --version "$version" --date "$man_date" \
    --extra "$PACKAGING/chaos-agent.8.extra" --see-also "chaos(1),systemd.service(5),systemctl(1)" \
    <"$work/chaos-agent.json" >"$man8/chaos-agent.8"
gzip -9n "$man1/chaos.1" "$man8/chaos-agent.8"
# chaos-remote is chaos with the network stack linked in; it has no page of its own.
ln -s chaos.1.gz "$man1/chaos-remote.1.gz"

# --- Shell completions -----------------------------------------------------------------------------

completions() {
    local pkg="$1" binary="$2" name="$3"
    mkdir -p "$pkg/usr/share/bash-completion/completions" "$pkg/usr/share/zsh/vendor-completions" \
        "$pkg/usr/share/fish/vendor_completions.d"
    # Sourced by bash-completion, not run: no '#!' line.
    run "$binary" --generate-completion-script bash | sed '1{/^#!/d}' >"$pkg/usr/share/bash-completion/completions/$name"
    run "$binary" --generate-completion-script zsh >"$pkg/usr/share/zsh/vendor-completions/_$name"
    run "$binary" --generate-completion-script fish >"$pkg/usr/share/fish/vendor_completions.d/$name.fish"
}
completions "$CHAOS" "$CHAOS/usr/bin/chaos" chaos
completions "$AGENT" "$AGENT/usr/bin/chaos-agent" chaos-agent

# --- Units, configuration, data --------------------------------------------------------------------

mkdir -p "$CHAOS/lib/systemd/system" "$AGENT/lib/systemd/system"
for unit in chaos-controller.service:"$CHAOS" chaos-agent.service:"$AGENT"; do
    name="${unit%%:*}"
    dest="${unit#*:}/lib/systemd/system/$name"
    install -m 0644 "$ROOT/deploy/systemd/$name" "$dest"
    # The units name /usr/bin; a copy that still says /usr/local/bin would start nothing.
    if grep -q '/usr/local/bin' "$dest"; then
        die "'deploy/systemd/$name' names /usr/local/bin; the packages install to /usr/bin."
    fi
done

mkdir -p "$AGENT/etc/chaos"
python3 "$PACKAGING/agent-config.py" <"$ROOT/deploy/agent.example.yaml" >"$AGENT/etc/chaos/agent.yaml" ||
    die "cannot make the packaged agent.yaml from deploy/agent.example.yaml (see above)."
chmod 0644 "$AGENT/etc/chaos/agent.yaml"
echo /etc/chaos/agent.yaml >"$AGENT/DEBIAN/conffiles"

mkdir -p "$CHAOS/usr/share/chaos/schema"
install -m 0644 "$ROOT"/docs/schema/*.json "$CHAOS/usr/share/chaos/schema/"

# --- Documentation ---------------------------------------------------------------------------------

changelog() {
    local pkg="$1"
    cat <<EOF
$pkg ($version) unstable; urgency=medium

  * Built by scripts/package.sh from commit $commit.

 -- $maintainer  $changelog_date
EOF
}
for pkg in chaos chaos-agent; do
    doc="$work/$pkg/usr/share/doc/$pkg"
    mkdir -p "$doc"
    sed "s/@YEARS@/$years/" "$PACKAGING/copyright" >"$doc/copyright"
    chmod 0644 "$doc/copyright"
    changelog "$pkg" >"$doc/changelog"
    gzip -9n "$doc/changelog"
done
install -m 0644 "$ROOT/README.md" "$CHAOS/usr/share/doc/chaos/README.md"
mkdir -p "$CHAOS/usr/share/doc/chaos/examples"
for example in agent controller inventory; do
    install -m 0644 "$ROOT/deploy/$example.example.yaml" "$CHAOS/usr/share/doc/chaos/examples/"
done

# --- Control files ---------------------------------------------------------------------------------

# Shared libraries the binaries need, as package dependencies (dpkg-shlibdeps wants a debian/control).
# One list for both packages (chaos-agent depends on chaos anyway): dpkg-shlibdeps reads every binary.
shlibs() {
    local dir="$work/shlibs" out
    mkdir -p "$dir/debian"
    printf 'Source: chaos\n\nPackage: chaos\nArchitecture: %s\n' "$ARCH" >"$dir/debian/control"
    out="$(cd "$dir" && dpkg-shlibdeps -O --ignore-missing-info "$@" 2>"$dir/warnings")" ||
        die "dpkg-shlibdeps failed: $(cat "$dir/warnings")"
    printf '%s' "${out#shlibs:Depends=}"
}
# Libraries outside the system's library directories (the Swift runtime of a build without
# --static-swift-stdlib): such a package installs, but runs only where that toolchain is.
foreign="$(for binary in "$CHAOS/usr/bin/chaos" "$CHAOS/usr/bin/chaos-remote" "$AGENT/usr/bin/chaos-agent"; do
    ldd "$binary" 2>/dev/null | awk '$2 == "=>" && $3 ~ /^\// && $3 !~ /^\/(usr\/)?lib(32|64|x32)?\// { print $3 }'
done | sort -u)"
if [[ -n "$foreign" ]]; then
    printf '%s: warning: the binaries need libraries from outside /lib and /usr/lib, which no dependency can name; the packages run only where those are (build without --bin-dir for a static Swift runtime):\n' "$PROGRAM" >&2
    printf '  %s\n' "$(printf '%s\n' $foreign | xargs -n1 basename | paste -sd' ')" >&2
fi
depends="$(shlibs "$CHAOS/usr/bin/chaos" "$CHAOS/usr/bin/chaos-remote" "$AGENT/usr/bin/chaos-agent")"

installed_size() { du -sk --exclude=DEBIAN "$1" | cut -f1; }

cat >"$CHAOS/DEBIAN/control" <<EOF
Package: chaos
Version: $version
Architecture: $ARCH
Maintainer: $maintainer
Installed-Size: $(installed_size "$CHAOS")
Depends: ${depends}
Recommends: nftables, iproute2
Suggests: chaos-agent
Section: admin
Priority: optional
Description: fault injection for Linux hosts, with guaranteed revert
 The chaos command injects faults on Linux hosts (kills and pauses processes,
 stops systemd units, drops, rejects, delays and limits traffic, partitions
 hosts, breaks DNS, fills disks, burns CPU, holds memory) and undoes every
 reversible fault on time, even if it is killed itself. It runs experiments
 with probes and verdicts, fleet commands through the hosts' agents, and the
 controller (chaos-controller.service, installed disabled) that runs
 experiments on their schedules.
EOF
cat >"$AGENT/DEBIAN/control" <<EOF
Package: chaos-agent
Version: $version
Architecture: $ARCH
Maintainer: $maintainer
Installed-Size: $(installed_size "$AGENT")
Depends: chaos (= $version), ${depends}
Recommends: nftables, iproute2
Section: admin
Priority: optional
Description: chaos agent: fault injection on this host over mutual TLS
 The per-host agent of chaos: an API over mutual TLS for the controller and
 operators, leases that revert a fault nobody renews, a local policy, and a
 ledger from which every fault is reverted after a crash.
 .
 chaos-agent.service is enabled but not started: on its first start the agent
 writes its key and a certificate request to /var/lib/chaos/pki and waits for
 a certificate; /etc/chaos/agent.yaml is its configuration.
EOF

for pkg in chaos chaos-agent; do
    for script in postinst prerm postrm; do
        install -m 0755 "$PACKAGING/$pkg.$script" "$work/$pkg/DEBIAN/$script"
    done
done

# --- Build -----------------------------------------------------------------------------------------

echo "Packages (version $version) in $out_dir:"
for pkg in chaos chaos-agent; do
    dir="$work/$pkg"
    (cd "$dir" && find . -type f ! -path './DEBIAN/*' -printf '%P\0' | LC_ALL=C sort -z | xargs -0 md5sum) >"$dir/DEBIAN/md5sums"
    chmod 0644 "$dir/DEBIAN/control" "$dir/DEBIAN/md5sums"
    [[ -f "$dir/DEBIAN/conffiles" ]] && chmod 0644 "$dir/DEBIAN/conffiles"
    find "$dir" -type d -exec chmod 0755 {} +
    find "$dir" -exec touch -h -d "@$SOURCE_DATE_EPOCH" {} +
    deb="$out_dir/${pkg}_${version}_${ARCH}.deb"
    dpkg-deb --root-owner-group "${compress[@]}" --build "$dir" "$deb" >/dev/null
    printf '  %-44s %10s  (installed %s KiB)\n' "$(basename "$deb")" "$(human "$(stat -c %s "$deb")")" \
        "$(awk -F': ' '/^Installed-Size:/ { print $2 }' "$dir/DEBIAN/control")"
done
