#!/usr/bin/env bash
# Creates the standard files of a workspace package: tooling/scaffold.sh packages/NAME @pali/NAME "description"
set -euo pipefail
dir=$1; name=$2; desc=$3
depth=$(echo "$dir" | awk -F/ '{print NF}')
up=$(printf '../%.0s' $(seq 1 "$depth"))
mkdir -p "$dir/src"
[ -f "$dir/package.json" ] || cat > "$dir/package.json" <<JSON
{
  "name": "$name",
  "version": "0.1.0",
  "description": "$desc",
  "license": "Apache-2.0",
  "type": "module",
  "sideEffects": false,
  "exports": {
    ".": {
      "source": "./src/index.ts",
      "types": "./dist/index.d.ts",
      "default": "./dist/index.js"
    }
  },
  "files": ["dist"],
  "scripts": {
    "build": "tsc -p tsconfig.build.json",
    "typecheck": "tsc -p tsconfig.json",
    "test": "vitest run"
  },
  "devDependencies": {
    "@pali/tsconfig": "workspace:*",
    "@pali/vitest-config": "workspace:*"
  }
}
JSON
cat > "$dir/tsconfig.json" <<JSON
{
  "extends": "${up}tooling/tsconfig/typecheck.json",
  "include": ["src", "test", "vitest.config.ts"]
}
JSON
cat > "$dir/tsconfig.build.json" <<JSON
{
  "extends": "${up}tooling/tsconfig/base.json",
  "compilerOptions": { "rootDir": "src", "outDir": "dist" },
  "include": ["src"],
  "exclude": ["src/**/*.test.ts", "src/**/*.bench.ts"]
}
JSON
cat > "$dir/vitest.config.ts" <<'TS'
import { packageProject } from '@pali/vitest-config';

export default packageProject(import.meta.url);
TS
[ -f "$dir/src/index.ts" ] || echo "export {};" > "$dir/src/index.ts"
