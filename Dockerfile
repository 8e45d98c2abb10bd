# syntax=docker/dockerfile:1
#
# killbill-openstack-bridge: one image for every bridge command.
#   docker run IMAGE              -> `bridge start` (HTTP intake API and workers in one process)
#   docker run IMAGE api|worker   -> one role per container (what docker-compose.yml does)
#   docker run IMAGE setup ...    -> one-shot Kill Bill bootstrap
#
# Stage 1 compiles the TypeScript and prunes the dev dependencies; stage 2 carries only what runs.

ARG NODE_IMAGE=node:20-bookworm-slim

FROM ${NODE_IMAGE} AS build
WORKDIR /app
# Dependencies first, so a source change does not re-run npm ci.
COPY package.json package-lock.json ./
RUN --mount=type=cache,target=/root/.npm npm ci --no-audit --no-fund
# The rest of the build context (.dockerignore keeps out node_modules, dist, .git, test, bench).
COPY . .
RUN npm run build \
    && test -f dist/src/app/main.js \
    && npm prune --omit=dev --no-audit --no-fund

FROM ${NODE_IMAGE} AS runtime
ENV NODE_ENV=production \
    PORT=8081
WORKDIR /app
# Owned by root and read-only for the service user: the bridge keeps its state in Redis, not on disk.
COPY --from=build /app/package.json /app/package-lock.json ./
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
COPY --from=build /app/bin ./bin
COPY --from=build /app/catalog ./catalog
COPY --from=build /app/docker/healthcheck.mjs ./docker/healthcheck.mjs
# The `node` user (uid 1000) comes with the official Node image.
USER node
EXPOSE 8081
# No curl in the slim image: the check is a Node script. It fits `start` and `api`; the compose file
# gives `worker` (no HTTP server) a Redis check instead.
HEALTHCHECK --interval=15s --timeout=5s --start-period=20s --retries=3 \
    CMD ["node", "docker/healthcheck.mjs", "http"]
ENTRYPOINT ["node", "bin/bridge.js"]
CMD ["start"]
