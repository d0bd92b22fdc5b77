# Hookline API / worker image. The same image runs either role (HOOKLINE_ROLE=api|worker) against
# an external Temporal (TEMPORAL_ADDRESS) and PostgreSQL (DATABASE_URL); it embeds neither.
FROM node:20-bookworm-slim
WORKDIR /app
ENV NODE_ENV=production
COPY package.json package-lock.json ./
COPY scripts ./scripts
# npm ci runs `prepare`, which builds the SDK and its CLI from sdk/src (JavaScript only without tsc).
COPY sdk ./sdk
# The Temporal binaries are only needed by `npm start`'s embedded dev server and by tests.
ENV TEMPORAL_CLI_PATH=/bin/true TEMPORAL_TEST_SERVER_PATH=/bin/true
RUN npm ci --no-audit --no-fund
COPY . .
ENV HOOKLINE_HOST=0.0.0.0
EXPOSE 3000
# tsx is a runtime dependency: the image runs the TypeScript sources as npm start does.
CMD ["node", "--import", "tsx", "src/main.ts"]
