#!/bin/sh
# modelpin launcher. Brings its own Deno (the pinned version, from npm, into
# .tools/) when none is installed, then:
#   ./start.sh            run the proxy, sandboxed to what .env configures
#   ./start.sh doctor     check the configuration and probe each backend (--live: one tiny completion each)
#   ./start.sh compile    build the ./modelpin binary with the same sandbox
#   ./start.sh TASK ...   run a deno task (test, bench, check, package: the .debs in dist/)
set -eu
cd "$(dirname "$0")"

DENO_VERSION=2.9.6

find_deno() {
  if [ -n "${DENO_BIN:-}" ]; then
    echo "$DENO_BIN"
    return
  fi
  if command -v deno >/dev/null 2>&1 && deno --version 2>/dev/null | head -n 1 | grep -q "^deno $DENO_VERSION "; then
    command -v deno
    return
  fi
  if [ ! -x .tools/node_modules/deno/deno ]; then
    if ! command -v npm >/dev/null 2>&1; then
      echo "modelpin: Deno $DENO_VERSION is not installed and npm is missing to fetch it." >&2
      echo "  Install Deno $DENO_VERSION (https://docs.deno.com/runtime/getting_started/installation/) or Node.js with npm." >&2
      exit 1
    fi
    echo "modelpin: fetching Deno $DENO_VERSION from npm into .tools/ (once)..." >&2
    if ! npm install --prefix .tools --no-audit --no-fund --loglevel=error "deno@$DENO_VERSION" >&2; then
      echo "modelpin: could not install Deno $DENO_VERSION from npm (see the npm error above)." >&2
      exit 1
    fi
  fi
  echo "$PWD/.tools/node_modules/deno/deno"
}

DENO=$(find_deno)
export DENO_BIN="$DENO"

# The sandbox is computed from the configuration itself: network only to the
# configured backends and the bind address, environment only for modelpin's
# own variables (plus any that .env interpolates, like \${FIREWORKS_KEY}), and
# only .env readable. This short step reads the environment to find those;
# it prints only flags. Invalid configuration exits 2 here.
sandbox_flags() {
  "$DENO" run --quiet --no-prompt --allow-read=.env --allow-env src/permissions.ts
}

case "${1:-}" in
  "")
    flags=$(sandbox_flags) || exit $?
    # shellcheck disable=SC2086 # one flag per line, none contains spaces
    exec "$DENO" run --quiet --no-prompt $flags src/main.ts
    ;;
  doctor)
    # The same sandbox as the proxy: it may reach exactly the backends it checks.
    shift
    flags=$(sandbox_flags) || exit $?
    # shellcheck disable=SC2086
    exec "$DENO" run --quiet --no-prompt $flags src/doctor.ts "$@"
    ;;
  compile)
    shift
    flags=$(sandbox_flags) || exit $?
    denort_help() {
      echo "  It needs Deno's denort base binary, downloaded from dl.deno.land on first use;" >&2
      echo "  without internet access, point DENORT_BIN at a denort $DENO_VERSION binary for" >&2
      echo "  this platform and run it again." >&2
    }
    # Ask first, so that an offline machine gets this message alone, not Deno's backtrace.
    if [ -z "${DENORT_BIN:-}" ] && ! "$DENO" eval --quiet \
      'try { await fetch("https://dl.deno.land/", { method: "HEAD", signal: AbortSignal.timeout(10000) }); } catch { Deno.exit(1); }' \
      >/dev/null 2>&1; then
      echo "modelpin: cannot build the binary: dl.deno.land is unreachable and DENORT_BIN is not set." >&2
      denort_help
      exit 1
    fi
    # Never --env-file here: it would bake the keys into the binary.
    # shellcheck disable=SC2086
    if ! "$DENO" compile --quiet --no-prompt $flags --output modelpin "$@" src/main.ts; then
      echo "modelpin: deno compile failed (see its message above)." >&2
      denort_help
      exit 1
    fi
    echo "modelpin: built ./modelpin (sandbox: $(echo "$flags" | tr '\n' ' '))"
    ;;
  *)
    exec "$DENO" task "$@"
    ;;
esac
