# Consul built from tools/consul (CGO_ENABLED=0) by scripts/images.sh.
FROM scratch
COPY consul /bin/consul
# scratch has no /tmp; Consul needs a writable data dir (-data-dir=/tmp/consul,
# or -dev's own temp dir) while running as nobody. rootfs/ carries /tmp (mode
# 1777) and /consul/data, the conventional data dir for a mounted volume.
COPY --chown=65534:65534 rootfs/ /
USER 65534:65534
# Consul otherwise looks up HashiCorp's update-check host on start. Stacks and
# tests talk only to their own containers, so the check is off in the image.
ENV CHECKPOINT_DISABLE=1
EXPOSE 8300 8301 8301/udp 8302 8302/udp 8500 8600 8600/udp
ENTRYPOINT ["/bin/consul"]
CMD ["agent", "-dev", "-client", "0.0.0.0"]
