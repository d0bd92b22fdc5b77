# Hookline API / worker image. The same image runs either role (HOOKLINE_ROLE=api|worker) against
# an external Temporal (TEMPORAL_ADDRESS) and PostgreSQL (DATABASE_URL); it embeds neither.

# Build: every dependency; `npm ci` runs `prepare`, which compiles the server into dist/ with the
# prebuilt workflow bundle (dist/workflow-bundle.js) and the SDK into sdk/dist; then the dev
# dependencies are removed.
FROM node:20-bookworm-slim AS build
WORKDIR /app
# NODE_ENV=production skips the dev tools of postinstall; --include=dev still installs the compiler.
ENV NODE_ENV=production
# The Temporal binaries are only needed by `npm start`'s embedded dev server and by tests.
ENV TEMPORAL_CLI_PATH=/bin/true TEMPORAL_TEST_SERVER_PATH=/bin/true
COPY . .
RUN npm ci --include=dev --no-audit --no-fund
RUN test -s dist/workflow-bundle.js && npm prune --omit=dev --no-audit --no-fund

# Run: compiled JavaScript and production dependencies only; the worker loads the prebuilt
# bundle (no TypeScript, no webpack at start).
FROM node:20-bookworm-slim
WORKDIR /app
ENV NODE_ENV=production HOOKLINE_HOST=0.0.0.0
COPY --from=build /app/package.json ./
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
COPY --from=build /app/dashboard ./dashboard
COPY --from=build /app/sdk/package.json ./sdk/
COPY --from=build /app/sdk/dist ./sdk/dist
EXPOSE 3000
# The operator tools are compiled too: node dist/scripts/backup.js backup <dir>,
# node dist/scripts/replay.js <workflowId>.
CMD ["node", "dist/src/main.js"]
