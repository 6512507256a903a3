# orderd: inbound SMTP for order emails, turned into Odoo sales orders during DATA.
#
#   docker build -t orderd .
#   docker run -p 2525:2525 -p 8080:8080 -e ORDERD_ODOO_URL=http://odoo:8069 … orderd
#
# Configuration comes from ORDERD_<SECTION>_<KEY> variables (see deploy/orderd.toml.example for every
# key); to use a file instead, mount it and run `orderd serve --config /etc/orderd/orderd.toml`.

# Two stages: the build stage has pip's caches and the build backend, the runtime stage only the
# installed virtualenv, which keeps the image small and free of build tools.
FROM python:3.11-slim AS build

ENV PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

RUN python -m venv /opt/orderd
WORKDIR /src
# The metadata first, so the dependency layer is reused while only orderd's own code changes.
COPY pyproject.toml README.md ./
COPY orderd ./orderd
# The postgres extra lets the same image use a shared PostgreSQL store (ORDERD_STORE_URL=postgresql://…)
# when several instances stand behind one MX.
RUN /opt/orderd/bin/pip install '.[postgres]'


FROM python:3.11-slim

# A fixed uid/gid so volume ownership stays the same across image rebuilds and hosts.
RUN groupadd --system --gid 10025 orderd \
    && useradd --system --uid 10025 --gid orderd --home-dir /var/lib/orderd --shell /usr/sbin/nologin orderd \
    && mkdir -p /var/lib/orderd /etc/orderd \
    && chown orderd:orderd /var/lib/orderd

COPY --from=build /opt/orderd /opt/orderd
# The catalog is what `orderd seed` loads into a fresh Odoo (the compose stack's init step); the
# example emails let `orderd parse` be tried inside the container.
COPY fixtures /app/fixtures

# Inside a container orderd listens on every interface (config.py's defaults are loopback, the safe
# choice on a host). The journal is the promise that nothing is lost: it lives in the volume below,
# not in the image layer. JSON logs: one object per line, what log collectors expect.
ENV PATH=/opt/orderd/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    ORDERD_SMTP_LISTEN=0.0.0.0:2525 \
    ORDERD_HTTP_LISTEN=0.0.0.0:8080 \
    ORDERD_STORE_URL=sqlite:////var/lib/orderd/orderd.sqlite3 \
    ORDERD_LOG_FORMAT=json

WORKDIR /app
VOLUME ["/var/lib/orderd"]
# 2525 is SMTP (map host port 25 to it: a non-root process cannot bind 25), 8080 health and metrics.
EXPOSE 2525 8080

USER orderd

# Liveness only (/healthz): /readyz also fails while Odoo or the relay is down, and restarting orderd
# would not fix either; orderd answers 451 meanwhile and the senders retry. curl is not in the slim
# image, Python's urllib is.
HEALTHCHECK --interval=30s --timeout=5s --start-period=60s --retries=3 \
    CMD ["python", "-c", "import os, urllib.request; port = os.environ.get('ORDERD_HTTP_LISTEN', '0.0.0.0:8080').rpartition(':')[2]; urllib.request.urlopen(f'http://127.0.0.1:{port}/healthz', timeout=4)"]

# orderd handles SIGTERM itself: stop accepting, finish DATA in flight (up to smtp.data_timeout), exit.
# Give it that long: `docker stop -t 130` or `stop_grace_period` in compose.
STOPSIGNAL SIGTERM
CMD ["orderd", "serve"]
