#!/usr/bin/env bash
# Installs what the real-VS-Code tests need, offline-friendly and idempotent:
# Debian's chromium (the headless browser), ripgrep (fed to @vscode/ripgrep's download cache,
# which cannot reach GitHub here), and code-server (a real VS Code server) in a cache dir
# outside the repository. Re-running it skips whatever is already present.
set -euo pipefail

CODE_SERVER_VERSION=4.100.3 # VS Code 1.100.3, the newest that runs on Node 20
RIPGREP_CACHE="${TMPDIR:-/tmp}/vscode-ripgrep-cache-1.15.11"
RIPGREP_TARBALL="$RIPGREP_CACHE/ripgrep-v13.0.0-10-x86_64-unknown-linux-musl.tar.gz"
TOOLS_DIR="${NB2PROD_TOOLS_DIR:-$HOME/.cache/nb2prod-tools}"
PREFIX="$TOOLS_DIR/code-server"

SUDO=""
if [ "$(id -u)" -ne 0 ] && command -v sudo >/dev/null; then SUDO="sudo"; fi

missing=()
for pkg in libkrb5-dev pkg-config chromium ripgrep; do
  dpkg -s "$pkg" >/dev/null 2>&1 || missing+=("$pkg")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "vscode.sh: installing ${missing[*]}"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

# @vscode/ripgrep's postinstall looks for this tarball before downloading.
if [ ! -s "$RIPGREP_TARBALL" ]; then
  tmp="$(mktemp -d)"
  cp "$(command -v rg)" "$tmp/rg"
  mkdir -p "$RIPGREP_CACHE"
  tar -czf "$RIPGREP_TARBALL.part" -C "$tmp" rg
  mv "$RIPGREP_TARBALL.part" "$RIPGREP_TARBALL"
  rm -rf "$tmp"
fi

bin="$PREFIX/node_modules/.bin/code-server"
# Read the version from package.json: `code-server --version` writes ~/.config/code-server/config.yaml.
installed_version() { node -p "require('$PREFIX/node_modules/code-server/package.json').version" 2>/dev/null || true; }
if [ -x "$bin" ] && [ "$(installed_version)" = "$CODE_SERVER_VERSION" ]; then
  echo "vscode.sh: code-server $CODE_SERVER_VERSION present"
else
  echo "vscode.sh: installing code-server $CODE_SERVER_VERSION into $PREFIX (takes a few minutes)"
  mkdir -p "$PREFIX"
  npm_config_yes=true npm_config_unsafe_perm=true \
    npm install --prefix "$PREFIX" --no-audit --no-fund --loglevel=error "code-server@$CODE_SERVER_VERSION"
  [ "$(installed_version)" = "$CODE_SERVER_VERSION" ] || { echo "vscode.sh: code-server install failed" >&2; exit 1; }
fi
