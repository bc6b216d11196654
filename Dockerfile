# Remit API. Build: docker build -t remit . — Run: see docker-compose.yml.
# Targets: `production` (the default, the API alone) and `simulator` (the card-processor simulator,
# a development tool that docker-compose runs beside the API; it is not in the production image).
FROM node:20-bookworm-slim AS deps
WORKDIR /app
# The SDK, the CLI and api-diff are workspaces of the repository: npm wants their package.json
# files to install the tree. The API image runs none of them, so nothing is built (--ignore-scripts
# skips the root's `prepare`, which compiles them with the dev-only TypeScript).
COPY package.json package-lock.json ./
COPY sdk/package.json sdk/
COPY cli/package.json cli/
COPY tools/api-diff/package.json tools/api-diff/
RUN npm ci --omit=dev --ignore-scripts --no-audit --no-fund

FROM node:20-bookworm-slim AS base
ENV NODE_ENV=production PORT=8080
WORKDIR /app
COPY --from=deps /app/node_modules ./node_modules
COPY package.json ./
COPY spec ./spec
COPY generated ./generated
COPY src ./src

FROM base AS simulator
USER node
EXPOSE 4010
CMD ["node", "--import", "tsx", "src/processor/simulator/main.ts"]

FROM base AS production
# The API loads the simulator only when PROCESSOR_URL is unset, which production refuses.
RUN rm -rf src/processor/simulator
USER node
EXPOSE 8080
HEALTHCHECK --interval=10s --timeout=2s --retries=3 CMD node -e "fetch('http://127.0.0.1:'+process.env.PORT+'/health').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"
# tsx runs the TypeScript sources directly (it is a runtime dependency for that reason).
CMD ["node", "--import", "tsx", "src/main.ts"]
