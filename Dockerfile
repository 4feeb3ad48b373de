# Frugal Gateway: build the wheels of the pinned dependencies in one stage, install them into a
# slim runtime image without compilers, run as an unprivileged user.
FROM python:3.11.14-slim-bookworm AS build
WORKDIR /src
RUN apt-get update && apt-get install -y --no-install-recommends build-essential \
    && rm -rf /var/lib/apt/lists/*
COPY requirements.lock ./
RUN python -m venv /opt/venv \
    && /opt/venv/bin/pip install --no-cache-dir --upgrade pip \
    && /opt/venv/bin/pip install --no-cache-dir --require-hashes -r requirements.lock

FROM python:3.11.14-slim-bookworm
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONPATH=/srv \
    PYTHONUNBUFFERED=1 \
    PORT=8080
RUN useradd --system --uid 10001 --home-dir /srv frugal && mkdir -p /srv && chown frugal /srv
COPY --from=build /opt/venv /opt/venv
# the source next to models/ (pricing table, router artifact), run as `python -m app`
COPY app /srv/app
COPY models /srv/models
WORKDIR /srv
USER frugal
EXPOSE 8080
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s \
    CMD python -c "import os,urllib.request; urllib.request.urlopen(f'http://127.0.0.1:{os.environ.get(\"PORT\",\"8080\")}/live', timeout=4)"
ENTRYPOINT ["sh", "-c", "exec python -m app serve --host 0.0.0.0 --port \"${PORT:-8080}\" \"$@\"", "frugal"]
