# Strata server image.
#   docker build -t strata .
#   docker run -p 6333:6333 -v strata-data:/data strata
# Settings come from the environment (STRATA_PORT or PORT, STRATA_WORKERS,
# STRATA_LOG_LEVEL, STRATA_MAX_BODY_MB, ...); see server/config.ts.

# ---------------------------------------------------------------- build stage
FROM node:20-bookworm-slim AS build

# better-sqlite3 is a native addon, compiled here from source: the build stage
# needs Python, make and a C++ compiler for node-gyp. /etc/prebuild-installrc
# makes its prebuild-install step skip the prebuilt-binary download (an
# npm_config_build_from_source env var would do the same, but npm 11 warns about
# unknown env config). nodedir points node-gyp at the image's own Node headers
# (/usr/local/include/node) instead of downloading them from nodejs.org.
RUN apt-get update \
 && apt-get install -y --no-install-recommends python3 make g++ \
 && rm -rf /var/lib/apt/lists/* \
 && printf 'buildFromSource=true\n' > /etc/prebuild-installrc
ENV npm_config_nodedir=/usr/local \
    npm_config_audit=false \
    npm_config_fund=false \
    npm_config_update_notifier=false

WORKDIR /app

# Dependencies first, so source edits reuse this layer. Install scripts stay
# enabled (package.json allowScripts permits better-sqlite3's build). The sdk/
# workspace's manifest is part of the lockfile, so npm ci needs it too.
COPY package.json package-lock.json ./
COPY sdk/package.json ./sdk/package.json
RUN npm ci

COPY . .
# Compile, drop devDependencies, then drop better-sqlite3's sources and object
# files (~27 MB) and check that the addon still loads.
RUN npm run build \
 && npm prune --omit=dev \
 && (cd node_modules/better-sqlite3 \
     && rm -rf deps src build/deps build/Release/obj build/Release/obj.target build/Release/.deps \
               build/Release/sqlite3.a build/Release/test_extension.node) \
 && node -e "new (require('better-sqlite3'))(':memory:').prepare('select 1').get()"

# -------------------------------------------------------------- runtime stage
FROM node:20-bookworm-slim AS runtime

# glibc malloc: two arenas instead of eight per core, and buffers of 256 KiB or more always mapped and unmapped
# (no dynamic threshold), so freed index-build buffers go back to the system (README, Configuration).
ENV NODE_ENV=production \
    STRATA_HOST=0.0.0.0 \
    STRATA_DATA_DIR=/data \
    MALLOC_ARENA_MAX=2 \
    MALLOC_MMAP_THRESHOLD_=262144

WORKDIR /app
# Owned by root and read-only for the service user; only /data is writable.
# dist/ holds the server, the `strata` CLI (dist/cli/main.js) and the web console
# (dist/console/, served at /console/).
COPY --from=build /app/package.json ./package.json
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist

RUN mkdir -p /data && chown node:node /data
VOLUME /data

# `node` (uid 1000) comes with the base image.
USER node

EXPOSE 6333

# No curl in slim images: probe /healthz with node's own fetch.
HEALTHCHECK --interval=30s --timeout=5s --start-period=10s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:'+(process.env.STRATA_PORT||process.env.PORT||6333)+'/healthz').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"]

# node is PID 1: the server handles SIGTERM/SIGINT itself (drains, exits 0).
CMD ["node", "--max-semi-space-size=2", "--heap-growing-percent=20", "--expose-gc", "dist/server/main.js"]
