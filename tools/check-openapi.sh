#!/usr/bin/env bash
# Validates OpenAPI 3.0 documents (JSON) with two standard validators from
# npm, installed into build/npm on first use (they then run offline):
# - @apidevtools/swagger-cli validate: the OpenAPI 3.0 JSON schema, $refs;
# - @redocly/cli lint: the semantic rules below as errors (path parameters
#   declared, unique operationIds, no ambiguous paths, no unused components…),
#   which swagger-cli does not check for OpenAPI 3.
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
packages=("@apidevtools/swagger-cli@4.0.4" "@redocly/cli@2.77.0")
swagger="$prefix/node_modules/.bin/swagger-cli"
redocly="$prefix/node_modules/.bin/redocly"

if [[ ! -x "$swagger" || ! -x "$redocly" ]]; then
  if ! command -v npm >/dev/null; then
    echo "check-openapi: npm not found (apt-get install npm)" >&2
    exit 2
  fi
  mkdir -p "$prefix"
  echo "check-openapi: installing ${packages[*]} into $prefix" >&2
  if ! npm install --prefix "$prefix" --no-audit --no-fund --silent "${packages[@]}" >&2; then
    echo "check-openapi: cannot install the validators" >&2
    exit 2
  fi
fi

# Redocly: no telemetry, no update check (only the npm registry is reachable).
export REDOCLY_TELEMETRY=off REDOCLY_SUPPRESS_UPDATE_NOTICE=true
config="$(mktemp --suffix=.yaml)"
trap 'rm -f "$config"' EXIT
cat >"$config" <<'YAML'
extends:
  - minimal
rules:
  struct: error
  no-unresolved-refs: error
  path-parameters-defined: error
  path-declaration-must-exist: error
  path-not-include-query: error
  no-path-trailing-slash: error
  no-identical-paths: error
  no-ambiguous-paths: error
  operation-operationId-unique: error
  operation-parameters-unique: error
  operation-2xx-response: error
  no-enum-type-mismatch: error
  no-unused-components: error
  no-invalid-media-type-examples: error
  no-invalid-schema-examples: error
  tag-description: error
  operation-tag-defined: error
  nullable-type-sibling: error
  # off: GET /healthz, /metrics and /v3/api-docs answer no 4XX of their own
  operation-4xx-response: off
  no-empty-servers: off
  security-defined: off
  info-license: off
YAML

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
  if ! "$swagger" validate "$file"; then
    status=1
  fi
  # (its Node.js deprecation banner, drawn in a box, is left out)
  if ! out="$("$redocly" lint --config "$config" --format stylish "$file" 2>&1)"; then
    status=1
  fi
  grep -v -e '^ *[╔║╚]' -e '^$' <<<"$out" || true
done
exit "$status"
