#!/usr/bin/env bash
# Every test: type-check, build (the e2e tests run the built dist/berth.cjs), then the unit and
# end-to-end tests with node's test runner, which prints the summary CI reads.
set -euo pipefail
cd "$(dirname "$0")/.."
npx tsc --noEmit
npx tsx scripts/build.ts
exec node --import tsx --test --test-timeout=300000 test/unit/*.test.ts test/e2e/*.test.ts
