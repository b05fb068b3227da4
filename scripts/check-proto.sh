#!/usr/bin/env bash
# buf lint, buf breaking against the previous commit's proto/, and a check that the generated
# TypeScript matches what `npm run generate` makes from the current proto/ (byte for byte).
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$PWD/node_modules/.bin:$PATH"
buf=buf

echo "proto: buf lint"
"$buf" lint

if git rev-parse -q --verify HEAD~1 >/dev/null && git cat-file -e HEAD~1:proto 2>/dev/null; then
  echo "proto: buf breaking against HEAD~1"
  "$buf" breaking --against ".git#ref=HEAD~1"
else
  echo "proto: buf breaking skipped (no proto/ in the previous commit to compare with)"
fi

echo "proto: generated code is current"
"$buf" generate
if ! git diff --quiet -- grpc-demo/src/gen || [ -n "$(git ls-files --others --exclude-standard grpc-demo/src/gen)" ]; then
  git status --short grpc-demo/src/gen
  echo "grpc-demo/src/gen is stale: run 'npm run generate' and commit the result" >&2
  exit 1
fi
