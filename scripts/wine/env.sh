# shellcheck shell=bash
# env.sh - shared defaults for the Wine test tier. Sourced (never executed) by
# scripts/test, scripts/wine/go-wine-exec and scripts/wine/build-shim so that
# all of them agree on where the cache and the Wine prefix live: scripts/test
# must stop exactly the wineserver that go-wine-exec started, and that server
# is identified by WINEPREFIX.
#
# Every value can be overridden from the environment:
#   CORDON_CACHE_DIR  root for generated files (default: XDG cache dir/cordon)
#   WINEPREFIX        the Wine prefix the tests run in (default: under the cache)

# HOME can be unset in stripped-down CI containers; fall back to a per-user
# directory in /tmp rather than failing or writing into "/.cache".
if [[ -z "${CORDON_CACHE_DIR:-}" ]]; then
	if [[ -n "${XDG_CACHE_HOME:-}" ]]; then
		CORDON_CACHE_DIR="$XDG_CACHE_HOME/cordon"
	elif [[ -n "${HOME:-}" ]]; then
		CORDON_CACHE_DIR="$HOME/.cache/cordon"
	else
		CORDON_CACHE_DIR="/tmp/cordon-cache-$(id -u)"
	fi
fi
export CORDON_CACHE_DIR

# A dedicated prefix, never the user's ~/.wine: go-wine-exec patches system32
# (the ProcessPrng shim) and switches the Windows version, which must not leak
# into a prefix used for anything else.
export WINEPREFIX="${WINEPREFIX:-$CORDON_CACHE_DIR/wineprefix}"

# -all silences Wine's fixme/err chatter (it would interleave with test
# output) and the Debian wrapper's "wine32 is missing" hint. The empty
# overrides for mscoree/mshtml stop wineboot from offering to download and
# install Mono and Gecko, which needs a display or network and is not used.
export WINEDEBUG="${WINEDEBUG:--all}"
export WINEDLLOVERRIDES="${WINEDLLOVERRIDES:-mscoree,mshtml=}"
