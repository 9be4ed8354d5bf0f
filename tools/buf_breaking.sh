#!/usr/bin/env bash
# buf breaking (rules: buf.yaml, FILE) for proto/ against the protos of an earlier commit.
#
#   tools/buf_breaking.sh [REF]      REF defaults to HEAD~1; run after `make setup`
#
# `buf breaking --against '.git#ref=REF,subdir=proto'` cannot resolve google/api/*.proto: that
# module is the git-ignored copy in .build/googleapis, absent from any commit. So this lays out
# REF's proto/ next to today's buf.yaml and googleapis copy in a temporary workspace and compares
# against that. Exits 0 with a message when REF does not exist or has no proto/.
set -euo pipefail

ref="${1:-HEAD~1}"
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
buf="$root/.venv/bin/buf"

if ! git rev-parse --verify --quiet "$ref^{commit}" >/dev/null; then
  echo "buf breaking: skipped, there is no commit $ref to compare with"
  exit 0
fi
if ! git cat-file -e "$ref:proto" 2>/dev/null; then
  echo "buf breaking: skipped, $ref ($(git rev-parse --short "$ref")) has no proto/ directory"
  exit 0
fi
if [[ ! -d .build/googleapis ]]; then
  echo "buf breaking: .build/googleapis is missing; run 'make setup'" >&2
  exit 1
fi

against="$(mktemp -d "${TMPDIR:-/tmp}/ecom-breaking.XXXXXX")"
trap 'rm -rf "$against"' EXIT
git archive "$ref" proto | tar -x -C "$against"
cp buf.yaml "$against/"
mkdir -p "$against/.build"
cp -R .build/googleapis "$against/.build/googleapis"

echo "buf breaking: proto/ against $ref ($(git rev-parse --short "$ref"))"
"$buf" breaking proto --against "$against/proto"
echo "buf breaking: no breaking changes"
