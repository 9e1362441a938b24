# The GitHub Action's image: the static docker-ecr-cache binary and CA
# certificates, nothing else. action.yml builds it on every job; a prebuilt
# copy can be used instead (see the README).
#
# GO_IMAGE is the Go toolchain image that builds the binary. Machines without
# Docker Hub pass one they have: --build-arg GO_IMAGE=my-go:1.26. Modules come
# from GOPROXY (a build-arg, passed through), or with no network at all from a
# vendor/ directory in the context (`go mod vendor` first): go build uses
# vendor/ by itself when it is there.
ARG GO_IMAGE=golang:1.26-bookworm

FROM ${GO_IMAGE} AS build
ARG GOPROXY
ARG VERSION=dev
WORKDIR /src
COPY . .
RUN CGO_ENABLED=0 go build -trimpath -ldflags="-s -w -X main.version=${VERSION}" \
        -o /out/docker-ecr-cache ./cmd/docker-ecr-cache \
    && mkdir -p /out/tmp && chmod 1777 /out/tmp

FROM scratch
COPY --from=build /etc/ssl/certs/ca-certificates.crt /etc/ssl/certs/ca-certificates.crt
COPY --from=build /out/tmp /tmp
COPY --from=build /out/docker-ecr-cache /docker-ecr-cache
# It runs as root, the image's default user, as the runner requires: GitHub
# asks container actions not to set USER, since the mounted workspace,
# file-command files and /var/run/docker.sock are only sure to be usable by
# root.
ENTRYPOINT ["/docker-ecr-cache"]
# action.yml passes `github`; this default makes `uses: docker://…` work too.
CMD ["github"]
