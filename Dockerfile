# Airbyte destination for Salesforce Service Cloud.
# Conventions (../shared/reference/airbyte-protocol-notes.md §3.3): non-root user `airbyte`, a /airbyte
# directory it owns for the config and catalog the platform mounts, AIRBYTE_ENTRYPOINT equal to the
# ENTRYPOINT with absolute paths (the platform changes the working directory), and the io.airbyte
# labels equal to metadata.yaml's dockerRepository and dockerImageTag (integration_tests/metadata.test.ts
# checks all of this against the file, integration_tests/container.test.ts against the built image).
#
# Build and run: README.md, section Docker (docker build …, or podman build --pull=never --network host …).

# ---- build: every dependency, bundle connector/ into dist/ (scripts/bundle.mjs) -------------------
FROM node:24-bookworm-slim AS build
WORKDIR /src
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY tsconfig.json LICENSE ./
COPY scripts ./scripts
COPY connector ./connector
COPY spec ./spec
COPY schemas ./schemas
# /app is assembled here so the runtime stage adds it as one layer holding only what the connector
# runs: the bundle (every dependency inside, their licences in dist/THIRD_PARTY_LICENSES.txt; no
# node_modules), the two JSON Schemas it reads at run time, package.json (its "type": "module" makes
# Node load dist/main.js as an ES module) and the LICENSE. Source maps stay out: nothing runs with
# --enable-source-maps.
RUN node scripts/bundle.mjs \
  && rm -f dist/*.map \
  && mkdir -p /app \
  && cp -R dist spec schemas package.json LICENSE /app/

# ---- runtime: node (with its own CA store), the user, /app ----------------------------------------
FROM node:24-bookworm-slim
# The base image's `node` user (uid/gid 1000) becomes `airbyte`: Airbyte's own base images run
# connectors as airbyte with uid and gid 1000, so files the platform mounts keep matching owners.
# npm, npx, corepack and yarn are never used at run time: left out, they are no attack surface and no
# scanner finding.
RUN groupmod --new-name airbyte node \
  && usermod --login airbyte --home /home/airbyte --move-home node \
  && mkdir -p /airbyte \
  && chown airbyte:airbyte /airbyte \
  && rm -rf /usr/local/lib/node_modules /usr/local/bin/npm /usr/local/bin/npx /usr/local/bin/corepack \
    /usr/local/bin/yarn /usr/local/bin/yarnpkg /opt/yarn-*

ENV NODE_ENV=production
WORKDIR /app
# Owned by root: the connector only reads its files.
COPY --from=build /app /app

LABEL io.airbyte.name=airbyte/destination-salesforce-service-cloud
LABEL io.airbyte.version=0.1.0

USER airbyte
# --max-semi-space-size=8 keeps peak memory under 200 MB at 1,000,000 rows on Node 24 (264 MB without it),
# --heap-growing-percent=10 keeps it flat in the number of rows (full collections before garbage piles up):
# see NODE_FLAGS in integration_tests/helpers/cli.ts, which the tests and the benchmark share.
ENV AIRBYTE_ENTRYPOINT="node --max-semi-space-size=8 --heap-growing-percent=10 /app/dist/main.js"
ENTRYPOINT ["node", "--max-semi-space-size=8", "--heap-growing-percent=10", "/app/dist/main.js"]
