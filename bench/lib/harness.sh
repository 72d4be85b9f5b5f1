# bench/lib/harness.sh — shared by bench/kill.sh and bench/run.sh (sourced after they define `say`
# and `fail`): tools from Debian, a C compiler for benchctl, the pinned Chaos Toolkit venv, the
# time budget.

need_apt() { # need_apt COMMAND PACKAGE: install PACKAGE when COMMAND is missing
  command -v "$1" >/dev/null 2>&1 && return 0
  say "installing Debian package $2 (for $1)"
  apt-get install -y -qq "$2" >/dev/null 2>&1 || { apt-get update -qq >/dev/null && apt-get install -y -qq "$2" >/dev/null; } \
    || fail "cannot install $2 with apt-get"
}

# hyperfine, GNU time and a C compiler (CC) for the benchctl helper.
need_bench_tools() {
  need_apt hyperfine hyperfine
  [[ -x /usr/bin/time ]] || need_apt /usr/bin/time time
  CC=""
  for c in cc gcc clang; do command -v "$c" >/dev/null 2>&1 && { CC=$c; break; }; done
  [[ -n $CC ]] || fail "no C compiler (cc, gcc or clang) to build the benchctl helper; the Swift toolchain ships clang"
}

# The real interpreter, not the pyenv shim (which costs 100-160 ms per start).
real_python() {
  if [[ -n ${PYTHON:-} ]]; then readlink -f "$(command -v "$PYTHON")"; return; fi
  local p=""
  command -v pyenv >/dev/null 2>&1 && p=$(pyenv which python3 2>/dev/null || true)
  [[ -n $p ]] || p=$(python3 -c 'import sys; print(sys.executable)')
  readlink -f "$p"
}

# ensure_ctk_venv VENV REQUIREMENTS LOG: the venv with the pinned Chaos Toolkit, made again only when
# missing or when the pins changed (the only network use: PyPI). Sets VPY.
ensure_ctk_venv() {
  local venv=$1 req=$2 log=$3 sum
  [[ -f $req ]] || fail "missing $req"
  sum=$(sha256sum "$req" | cut -d' ' -f1)
  if [[ ! -x $venv/bin/chaos || ! -x $venv/bin/python || $(cat "$venv/.requirements.sha256" 2>/dev/null) != "$sum" ]]; then
    local py; py=$(real_python)
    say "creating $venv from $py and installing pinned Chaos Toolkit (PyPI)"
    rm -rf "$venv"
    "$py" -m venv "$venv"
    "$venv/bin/python" -m pip install -q --disable-pip-version-check --no-input -r "$req" >"$log" 2>&1 \
      || { tail -n 20 "$log" >&2; fail "pip install -r $req failed"; }
    echo "$sum" >"$venv/.requirements.sha256"
  fi
  VPY="$venv/bin/python"
  [[ $(readlink -f "$VPY") != *"/shims/"* ]] || fail "$VPY resolves to a pyenv shim; set PYTHON to the real interpreter"
}

left() { # seconds left for the next step, capped at $1 (DEADLINE in SECONDS); fails when the budget is spent
  local l=$((DEADLINE - SECONDS))
  ((l > 0)) || fail "time budget TIME_LIMIT=${TIME_LIMIT}s spent (raise TIME_LIMIT or lower the run counts)"
  echo $((l < $1 ? l : $1))
}
