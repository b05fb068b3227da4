# The kit's two images, one recipe: a workspace (WORKSPACE) and its target (users, chat). Build from
# the repository root (the images need the root lockfile and proto/) after compiling, which
# scripts/prepare-images.sh does before `compose build`:
#   node scripts/ensure-built.mjs packages/redis-kit packages/service-kit grpc-demo websocket-chat
#   docker build --build-arg WORKSPACE=grpc-demo --target users -t clusterkit/users .
#   docker build --build-arg WORKSPACE=websocket-chat --target chat -t clusterkit/chat .
# Air-gapped: --build-arg NODE_IMAGE=clusterkit/standin-node:20 (scripts/build-standin-images.sh).
ARG NODE_IMAGE=node:20-bookworm-slim

# Production dependencies of the workspace and of the workspaces it imports (the chat's gRPC
# client is grpc-demo: npm follows it); no install scripts (none is needed: esbuild's binary comes
# as an optional dependency).
FROM ${NODE_IMAGE} AS deps
ARG WORKSPACE
RUN test -n "$WORKSPACE" || { echo "give --build-arg WORKSPACE=grpc-demo or websocket-chat" >&2; exit 1; }
WORKDIR /app
# Every workspace's package.json, or `npm ci` finds the lockfile out of sync. The optional CA bundle
# (.tmp/ca-certificates.crt, written by the kit's scripts) lets npm work behind a TLS-intercepting
# proxy; the glob keeps the COPY valid when it is absent.
COPY package.json package-lock.json .tmp/ca-certificates.cr[t] ./
COPY scripts/docker/fill-lockfile.mjs /tmp/
COPY packages/redis-kit/package.json packages/redis-kit/
COPY packages/service-kit/package.json packages/service-kit/
COPY grpc-demo/package.json grpc-demo/
COPY websocket-chat/package.json websocket-chat/
RUN if [ -f ca-certificates.crt ]; then export NODE_EXTRA_CA_CERTS=/app/ca-certificates.crt; fi; \
    node /tmp/fill-lockfile.mjs && npm ci --workspace "$WORKSPACE" --omit=dev --ignore-scripts --no-audit --no-fund \
    && npm cache clean --force

# The sources and their compiled dist/ (tsc's output, from the host: typescript is a root
# devDependency, not installed here), and the browser page where the workspace has one (Vite).
FROM deps AS build
ARG WORKSPACE
COPY tsconfig.base.json ./
COPY proto ./proto
COPY packages ./packages
COPY grpc-demo ./grpc-demo
COPY websocket-chat ./websocket-chat
RUN for dist in packages/redis-kit/dist/index.js packages/service-kit/dist/index.js "$WORKSPACE/dist/main.js" grpc-demo/dist/index.js; do \
      test -f "$dist" || { echo "$dist is missing: run 'node scripts/ensure-built.mjs packages/redis-kit packages/service-kit grpc-demo websocket-chat' first" >&2; exit 1; }; \
    done
RUN if [ -f "$WORKSPACE/vite.config.ts" ]; then \
      if [ -f ca-certificates.crt ]; then export NODE_EXTRA_CA_CERTS=/app/ca-certificates.crt; fi; \
      npm ci --workspace "$WORKSPACE" --ignore-scripts --no-audit --no-fund \
      && cd "$WORKSPACE" && npx --no-install vite build && test -f web/dist/index.html; \
    fi

FROM ${NODE_IMAGE} AS runtime
ARG WORKSPACE
ENV NODE_ENV=production
WORKDIR /app
COPY --from=deps /app/node_modules ./node_modules
COPY package.json tsconfig.base.json ./
COPY proto ./proto
COPY scripts/healthcheck ./scripts/healthcheck
# The shared packages (node_modules/@clusterkit/* link here); grpc-demo is the user service and the
# chat's gRPC client. src/ stays beside dist/ for the CLI run from source (the container tests do).
COPY --from=build /app/packages ./packages
COPY --from=build /app/grpc-demo ./grpc-demo
COPY --from=build /app/${WORKSPACE} ./${WORKSPACE}
WORKDIR /app/${WORKSPACE}
# The shared packages must resolve, compiled, from here: a missing copy or link fails the build, not the start.
RUN node --conditions=compiled --input-type=module -e "await import('@clusterkit/redis-kit'); await import('@clusterkit/service-kit')"
USER node
# node itself is PID 1's child under `init: true` (compose) and gets SIGTERM directly: no npm or
# tsx wrapper process in between that could swallow it. main.js drains and exits. Compiled, by
# plain node (~25 MB less RSS than through tsx): `compiled` makes `@clusterkit/*` and
# `grpc-demo/client` resolve to their dist/ (their package.json exports), not their TypeScript src/.
CMD ["node", "--conditions=compiled", "dist/main.js"]

FROM runtime AS users
EXPOSE 50051
HEALTHCHECK --interval=5s --timeout=4s --start-period=90s --retries=3 \
  CMD ["node", "/app/scripts/healthcheck/grpc.mjs", "127.0.0.1:50051"]

FROM runtime AS chat
EXPOSE 3000
HEALTHCHECK --interval=5s --timeout=4s --start-period=90s --retries=3 \
  CMD ["node", "/app/scripts/healthcheck/http.mjs", "http://127.0.0.1:3000/readyz"]
