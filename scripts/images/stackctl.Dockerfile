# The stackctl binary alone (static, CGO_ENABLED=0, built by scripts/images.sh):
# the image of a stack's reconcile agent (`reconcile:` in the stack file,
# docs/reconcile.md). It runs as root: it talks to the Docker socket.
FROM scratch
# rootfs/ carries /tmp (mode 1777; go-git and the checkouts write temp files),
# /var/cache/stackctl (the agent's git cache) and, when the host has them, the
# CA certificates that https repositories are checked against.
COPY rootfs/ /
COPY stackctl /usr/local/bin/stackctl
ENV PATH=/usr/local/bin SSL_CERT_FILE=/etc/ssl/certs/ca-certificates.crt
# SIGTERM stops the agent between two steps; an apply under way is rolled back.
STOPSIGNAL SIGTERM
# The command is the stack's (apply.ReconcileCommand: stackctl reconcile ...),
# as the LB image's is: no entrypoint.
CMD ["stackctl", "reconcile", "--help"]
