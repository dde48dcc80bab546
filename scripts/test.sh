#!/usr/bin/env bash
# Every test: type-check, build (the e2e tests run the built dist/berth.cjs), then the unit and
# end-to-end tests with node's test runner, which prints the summary CI reads. One file at a
# time: the e2e suites share the host's firewall, bridges and ports. The runner orders files by
# path, so the leftovers check, which must come after all of them, lives in test/zz-after-all.
set -euo pipefail
cd "$(dirname "$0")/.."
npx tsc --noEmit
npx tsx scripts/build.ts
exec node --import tsx --test --test-concurrency=1 --test-timeout=300000 test/unit/*.test.ts test/e2e/*.test.ts test/zz-after-all/leftovers.test.ts
