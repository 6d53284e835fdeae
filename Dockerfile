# tapdlp container image: a static, cgo-free binary on distroless, run as a
# non-root user. Build (BuildKit, the default builder since Docker 23):
#
#   docker build -t tapdlp \
#     --build-arg VERSION=$(git describe --tags --always --dirty) \
#     --build-arg COMMIT=$(git rev-parse HEAD) \
#     --build-arg DATE=$(date -u +%Y-%m-%dT%H:%M:%SZ) .
#
# Run on a tap host. Capturing needs CAP_NET_RAW (AF_PACKET socket) and
# nothing else (promiscuous mode as a packet membership and fanout work
# without CAP_NET_ADMIN):
#
#   docker run -d --name tapdlp --network host \
#     --cap-drop ALL --cap-add NET_RAW \
#     -v /etc/tapdlp:/etc/tapdlp:ro -v tapdlp-state:/var/lib/tapdlp tapdlp
#
# The binary carries it as a file capability, so the non-root user
# gets them at exec. Two consequences: do not add --security-opt
# no-new-privileges (it disables file capabilities), and every invocation,
# even `replay` or `version`, needs NET_RAW in the container's
# bounding set (else exec fails with "operation not permitted"):
#
#   docker run --rm --user "$(id -u):$(id -g)" --cap-drop ALL --cap-add NET_RAW \
#     -v "$PWD:/data" tapdlp replay -o /data/flows.jsonl /data/capture.pcap

FROM golang:1.26 AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
ARG VERSION=dev
ARG COMMIT=unknown
ARG DATE=unknown
RUN CGO_ENABLED=0 go build -trimpath \
      -ldflags "-s -w -X main.version=${VERSION} -X main.commit=${COMMIT} -X main.date=${DATE}" \
      -o /out/tapdlp ./cmd/tapdlp
# setcap writes the security.capability xattr; BuildKit's COPY --from keeps it.
RUN apt-get update && apt-get install -y --no-install-recommends libcap2-bin \
 && setcap cap_net_raw+ep /out/tapdlp \
 && mkdir -p /out/state

# distroless/static: CA certificates, /etc/passwd with nonroot (65532), no shell.
FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/tapdlp /usr/bin/tapdlp
COPY deploy/tapdlp.yaml /etc/tapdlp/tapdlp.yaml
COPY --from=build --chown=65532:65532 /out/state /var/lib/tapdlp
USER 65532:65532
VOLUME ["/var/lib/tapdlp"]
ENTRYPOINT ["/usr/bin/tapdlp"]
CMD ["run", "-c", "/etc/tapdlp/tapdlp.yaml"]
