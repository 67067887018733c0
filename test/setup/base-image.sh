#!/usr/bin/env bash
# Builds the local base images the tests (and offline users) need, when they are missing.
# No registry is reachable, so instead of pulling we debootstrap a minimal Debian with
# mmdebstrap and `docker import` it. The mirror comes from this machine's apt configuration.
#
#   python:3.11-slim                  Debian's python3 (3.11) + pip + venv + FastAPI/uvicorn: the default base
#   nb2prod-base/python-ml:bookworm   the same + numpy, pandas, scikit-learn, joblib
# The Python images carry the web stack `nb2prod serve` images need (nothing can pip-install it
# offline); an image built before that is rebuilt.
#   node:20-slim                      Node.js 20 for TypeScript pipelines
set -euo pipefail

. /etc/os-release
suite="${VERSION_CODENAME:?cannot tell the Debian release from /etc/os-release}"
hooks=/usr/share/mmdebstrap/hooks

# One-line apt sources ("deb [signed-by=K] URI SUITE COMPONENTS") for this release and its
# -updates/-security suites, read from sources.list, *.list and deb822 *.sources files.
apt_sources() {
  local f
  for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list; do
    [ -f "$f" ] || continue
    awk '
      /^[ \t]*deb[ \t]/ {
        sub(/#.*/, ""); opts = "";
        if ($2 ~ /^\[/) { opts = $2; i = 3; while (opts !~ /\]$/) { opts = opts " " $i; i++ } ; shift = i - 2 } else shift = 0;
        uri = $(2 + shift); suite = $(3 + shift); comps = "";
        for (j = 4 + shift; j <= NF; j++) comps = comps " " $j;
        print "deb " (opts ? opts " " : "") uri " " suite comps
      }' "$f"
  done
  for f in /etc/apt/sources.list.d/*.sources; do
    [ -f "$f" ] || continue
    awk '
      function flush() {
        if (types ~ /(^| )deb( |$)/ && enabled != "no" && uris != "") {
          n = split(uris, u, " "); m = split(suites, s, " ");
          for (a = 1; a <= n; a++) for (b = 1; b <= m; b++)
            print "deb " (key ? "[signed-by=" key "] " : "") u[a] " " s[b] " " comps
        }
        types = uris = suites = comps = key = enabled = ""
      }
      /^[ \t]*#/ { next }
      /^[ \t]*$/ { flush(); next }
      {
        field = tolower($1); sub(/:$/, "", field); $1 = ""; sub(/^[ \t]+/, "");
        if (field == "types") types = $0; else if (field == "uris") uris = $0;
        else if (field == "suites") suites = $0; else if (field == "components") comps = $0;
        else if (field == "signed-by") key = $0; else if (field == "enabled") enabled = tolower($0);
      }
      END { flush() }' "$f"
  done
}

mapfile -t sources < <(apt_sources | awk -v s="$suite" '$0 ~ (" " s "(-updates|-security|/updates)? ")' | sort -u)
if [ "${#sources[@]}" -eq 0 ]; then
  echo "base-image.sh: no apt source for '$suite' in /etc/apt/sources.list*" >&2
  exit 1
fi

# Debootstraps a minimal root with the given packages and imports it as an image.
#   build_image TAG "PACKAGES" [extra --change lines...]
# An image that is present is kept unless `present_check` (a shell command run in it) fails.
build_image() {
  local tag="$1" packages="$2"
  shift 2
  if docker image inspect "$tag" >/dev/null 2>&1; then
    if [ -z "$present_check" ] || docker run --rm --network none "$tag" sh -c "$present_check" >/dev/null 2>&1; then
      echo "base-image.sh: $tag present"
      return
    fi
    echo "base-image.sh: $tag lacks what the tests need ($present_check fails): rebuilding"
  fi
  echo "base-image.sh: building $tag (takes a minute or two)"
  local started=$SECONDS
  local hook_args=()
  # The eatmydata hook copies the host's eatmydata in; without it the hook would fail.
  [ -d "$hooks/eatmydata" ] && command -v eatmydata >/dev/null && hook_args+=(--hook-dir="$hooks/eatmydata")
  [ -d "$hooks/merged-usr" ] && hook_args+=(--hook-dir="$hooks/merged-usr")
  mmdebstrap --variant=minbase --format=tar --quiet \
    --include="$packages" \
    "${hook_args[@]}" \
    --customize-hook='rm -rf "$1"/usr/share/doc/* "$1"/usr/share/man/* "$1"/usr/share/locale/* "$1"/usr/share/info/* "$1"/var/lib/apt/lists/* "$1"/var/cache/apt/*.bin' \
    "${extra_hooks[@]}" \
    "$suite" - "${sources[@]}" |
    docker import \
      --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
      --change 'ENV LANG=C.UTF-8' \
      --change 'LABEL nb2prod.base=true' \
      "$@" - "$tag" >/dev/null
  echo "base-image.sh: $tag built in $((SECONDS - started))s"
}

python_changes=(
  --change 'ENV PYTHONUNBUFFERED=1'
  --change 'ENV PIP_BREAK_SYSTEM_PACKAGES=1'
  --change 'ENV PIP_DISABLE_PIP_VERSION_CHECK=1'
  --change 'CMD ["python3"]'
)
python_packages="python3,python3-pip,python3-venv,python-is-python3,ca-certificates,python3-fastapi,python3-uvicorn"

extra_hooks=()
present_check='python3 -c "import fastapi, uvicorn"'
build_image python:3.11-slim "$python_packages" "${python_changes[@]}"
build_image nb2prod-base/python-ml:bookworm \
  "$python_packages,python3-numpy,python3-pandas,python3-sklearn,python3-joblib" "${python_changes[@]}"

present_check=''

# Node: Debian bookworm ships Node.js 18, so a `node:20-slim` tag over Debian's package would
# lie. When the host runs Node 20 (its distribution is self-contained apart from glibc and
# libstdc++, which minbase has), copy that runtime in; otherwise use Debian's nodejs and tag
# the major it really has.
host_node="$(command -v node || true)"
if [ -n "$host_node" ] && "$host_node" --version | grep -q '^v20\.'; then
  node_modules="$(dirname "$(dirname "$(readlink -f "$host_node")")")/lib/node_modules"
  extra_hooks=(--customize-hook="mkdir -p \"\$1/usr/local/lib\" && cp -a '$(readlink -f "$host_node")' \"\$1/usr/local/bin/node\"")
  if [ -d "$node_modules/npm" ]; then
    extra_hooks+=(--customize-hook="mkdir -p \"\$1/usr/local/lib/node_modules\" && cp -a '$node_modules/npm' \"\$1/usr/local/lib/node_modules/\" && ln -s ../lib/node_modules/npm/bin/npm-cli.js \"\$1/usr/local/bin/npm\" && ln -s ../lib/node_modules/npm/bin/npx-cli.js \"\$1/usr/local/bin/npx\"")
  fi
  build_image node:20-slim "ca-certificates" --change 'CMD ["node"]'
else
  echo "base-image.sh: no host Node 20; building from Debian's nodejs"
  extra_hooks=()
  tmp_tag=nb2prod-base/node:debian
  build_image "$tmp_tag" "ca-certificates,nodejs,npm" --change 'CMD ["node"]'
  major="$(docker run --rm "$tmp_tag" node -p 'process.versions.node.split(".")[0]')"
  docker tag "$tmp_tag" "node:$major-slim"
  echo "base-image.sh: tagged node:$major-slim (Debian's nodejs)"
fi
