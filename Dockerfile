# hookrig's container image, built the goreleaser way: no compiler in the
# image and no build stage (base images are not pulled). The context holds
# what bench/image.sh (or a release job) put there:
#
#   hookrig              CGO_ENABLED=0 go build -trimpath -o hookrig ./cmd/hookrig
#   ca-certificates.crt  the build host's /etc/ssl/certs/ca-certificates.crt
#   data/, tmp/          empty directories: the outbox's and the temporary files'
#
# The image is the static binary, the CA bundle (for https:// endpoints)
# and two writable directories, run as an unprivileged user. docs/install.md
# shows how to build and run it.
FROM scratch
LABEL org.opencontainers.image.title="hookrig" \
      org.opencontainers.image.description="Webhook reliability testing: a reference sender and receiver, a chaos proxy, scenarios with a delivery-guarantee report" \
      org.opencontainers.image.source="https://github.com/hookrig/hookrig"
COPY ca-certificates.crt /etc/ssl/certs/ca-certificates.crt
COPY hookrig /usr/local/bin/hookrig
# The sender's outbox (its --data) and hookrig run's temporary files must
# be writable by the user below; scratch has no /tmp of its own.
COPY --chown=65532:65532 data /data
COPY --chown=65532:65532 tmp /tmp
ENV TMPDIR=/tmp
WORKDIR /data
# 65532: the "nonroot" user of distroless images, no shell, no home.
USER 65532:65532
ENTRYPOINT ["/usr/local/bin/hookrig"]
CMD ["run"]
