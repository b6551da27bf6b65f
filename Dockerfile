# The ringfence binary on a distroless base, for `ringfence controller`
# (deploy/ringfence-controller). Static, non-root (uid 65532), nothing else in
# the image.
FROM golang:1.26 AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
ARG VERSION=devel
RUN CGO_ENABLED=0 go build -trimpath -ldflags "-s -w -X github.com/ringfence/ringfence/internal/cli.version=${VERSION}" -o /ringfence ./cmd/ringfence

FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /ringfence /ringfence
USER 65532:65532
ENTRYPOINT ["/ringfence"]
