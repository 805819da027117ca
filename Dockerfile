# syntax=docker/dockerfile:1
# Two images from one build:
#   docker build --target manager -t longshore/manager .
#   docker build --target agent   -t longshore/agent .
# (`make docker-build` does both.)

ARG GO_VERSION=1.26
FROM golang:${GO_VERSION}-bookworm AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN --mount=type=cache,target=/root/go/pkg/mod go mod download
COPY api/ api/
COPY cmd/ cmd/
COPY controllers/ controllers/
COPY internal/ internal/
ARG VERSION=dev
RUN --mount=type=cache,target=/root/go/pkg/mod --mount=type=cache,target=/root/.cache/go-build \
    CGO_ENABLED=0 go build -trimpath \
      -ldflags "-s -w -X github.com/longshore-io/longshore/internal/version.Version=${VERSION}" \
      -o /out/longshore-manager ./cmd/manager && \
    CGO_ENABLED=0 go build -trimpath \
      -ldflags "-s -w -X github.com/longshore-io/longshore/internal/version.Version=${VERSION}" \
      -o /out/longshore-agent ./cmd/agent && \
    CGO_ENABLED=0 go build -trimpath \
      -ldflags "-s -w -X github.com/longshore-io/longshore/internal/version.Version=${VERSION}" \
      -o /out/longshore-logger ./cmd/logger && \
    CGO_ENABLED=0 go build -trimpath \
      -ldflags "-s -w -X github.com/longshore-io/longshore/internal/version.Version=${VERSION}" \
      -o /out/longshore-init ./cmd/init
RUN --mount=type=cache,target=/root/go/pkg/mod --mount=type=cache,target=/root/.cache/go-build \
    CGO_ENABLED=0 go build -trimpath \
      -ldflags "-s -w -X github.com/longshore-io/longshore/internal/version.Version=${VERSION}" \
      -o /out/longshore-ecs-api ./cmd/ecs-api

# The manager only talks to the API server: a static binary, no shell, non-root.
FROM gcr.io/distroless/static-debian12:nonroot AS manager
COPY --from=build /out/longshore-manager /longshore-manager
USER 65532:65532
ENTRYPOINT ["/longshore-manager"]

# The ECS API (docs/ecs-api.md): like the manager, an API server client only.
#   docker build --target ecs-api -t longshore/ecs-api .
FROM gcr.io/distroless/static-debian12:nonroot AS ecs-api
COPY --from=build /out/longshore-ecs-api /longshore-ecs-api
USER 65532:65532
ENTRYPOINT ["/longshore-ecs-api"]

# The agent drives the host's containerd and runs CNI plugins itself, so its
# image carries the plugins and the iptables/iproute2 tools they call.
FROM debian:bookworm-slim AS agent
RUN apt-get update && \
    apt-get install -y --no-install-recommends containernetworking-plugins iptables iproute2 ca-certificates && \
    rm -rf /var/lib/apt/lists/*
COPY --from=build /out/longshore-agent /out/longshore-logger /out/longshore-init /usr/local/bin/
ENTRYPOINT ["/usr/local/bin/longshore-agent"]
