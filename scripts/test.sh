#!/usr/bin/env bash
# `npm test`: install what the tests need (idempotent), build, type-check, lint, package the
# .vsix, then run every suite with node's test runner: unit and TCP tests (TypeScript compiled to
# out/), browser tests (Debian Chromium) and editor tests (code-server).
set -euo pipefail
cd "$(dirname "$0")/.."

node test/harness/install.mjs
npm run --silent build
npm run --silent check-types
npm run --silent lint
rm -rf out
npx tsc -p . --outDir out
if grep -q '"package"' package.json; then npm run --silent package; fi

mapfile -t compiled < <(find out/test -name '*.test.js' | sort)
mapfile -t plain < <(find test -name '*.test.mjs' | sort)
node --test --test-timeout=300000 "${compiled[@]}" "${plain[@]}"
