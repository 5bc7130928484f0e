# nginx 1.30 from Debian sid (nginx-base, made by debootstrap + docker import)
# plus the stackctl binary that will render and reload its config.
ARG NGINX_BASE_IMAGE
FROM ${NGINX_BASE_IMAGE}
COPY nginx.conf /etc/nginx/nginx.conf
# bin/ is empty until cmd/stackctl exists; copying an empty dir keeps one
# Dockerfile for both cases.
COPY bin/ /usr/local/bin/
# The compiled-in log paths are used before nginx.conf is read (and by
# `nginx -t`), so they too must end up in `docker logs`.
RUN rm -f /etc/nginx/sites-enabled/default \
 && ln -sf /dev/stdout /var/log/nginx/access.log \
 && ln -sf /dev/stderr /var/log/nginx/error.log \
 && nginx -t
EXPOSE 80
# SIGQUIT is nginx's graceful stop: workers finish the requests they hold.
STOPSIGNAL SIGQUIT
CMD ["nginx", "-g", "daemon off;"]
