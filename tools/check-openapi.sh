#!/usr/bin/env bash
# Validates OpenAPI 3.0 documents (JSON) with a standard validator:
# @apidevtools/swagger-cli (swagger-parser: the OpenAPI 3.0 JSON schema plus
# $ref resolution), installed from npm into build/npm on first use.
#
#   tools/check-openapi.sh FILE...
#
# Exit 0 when every FILE is valid; 1 when one is not; 2 on bad usage or when
# the validator cannot be installed. The documents come from the unit test:
#   RESERVOIR_OPENAPI_DIR=build/openapi build/tests/unit_tests -tc='openapi_document*'
set -euo pipefail

if [[ $# -eq 0 ]]; then
  echo "usage: $0 FILE..." >&2
  exit 2
fi

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
prefix="${RESERVOIR_NPM_PREFIX:-$root/build/npm}"
validator_version="4.0.4"
cli="$prefix/node_modules/.bin/swagger-cli"

if [[ ! -x "$cli" ]]; then
  if ! command -v npm >/dev/null; then
    echo "check-openapi: npm not found (apt-get install npm)" >&2
    exit 2
  fi
  mkdir -p "$prefix"
  echo "check-openapi: installing @apidevtools/swagger-cli@$validator_version into $prefix" >&2
  if ! npm install --prefix "$prefix" --no-audit --no-fund --silent \
    "@apidevtools/swagger-cli@$validator_version" >&2; then
    echo "check-openapi: cannot install the validator" >&2
    exit 2
  fi
fi

status=0
for file in "$@"; do
  if [[ ! -f "$file" ]]; then
    echo "check-openapi: $file: no such file" >&2
    status=1
    continue
  fi
  # swagger-cli takes a Swagger 2.0 document as well: insist on 3.0.x.
  if ! grep -q '"openapi" *: *"3\.0\.[0-9]*"' "$file"; then
    echo "check-openapi: $file: not an OpenAPI 3.0 document" >&2
    status=1
    continue
  fi
  if ! "$cli" validate "$file"; then
    status=1
  fi
done
exit "$status"
