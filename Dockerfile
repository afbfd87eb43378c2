# safe-passage: the HTTP service, one process per container.
# Build: docker build -t safe-passage .   Run: see docs/deployment.md.
# Data (the embedded SQLite database) lives in the volume /data; set
# SAFE_PASSAGE_DATABASE_URL to use PostgreSQL instead (several replicas).

# --- build: dependency wheels, then the project's own wheel, into a venv ---
FROM python:3.11-slim AS build
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_NO_CACHE_DIR=1
# A C compiler (and, where the base image lacks them, the Python headers) for the one
# compiled module, the planners' loops; none of it reaches the runtime image, so the Debian
# versions are not pinned (they change with the base image's point release).
# hadolint ignore=DL3008
RUN apt-get update \
 && apt-get install --yes --no-install-recommends gcc libc6-dev \
 && if [ ! -f "$(python3 -c 'import sysconfig; print(sysconfig.get_paths()["include"])')/Python.h" ]; then \
        apt-get install --yes --no-install-recommends python3-dev; \
    fi \
 && rm -rf /var/lib/apt/lists/*
RUN python -m venv /opt/venv
ENV PATH=/opt/venv/bin:$PATH
WORKDIR /src
# Dependencies first (from pyproject.toml alone), so editing app/ reuses this layer.
COPY pyproject.toml ./
RUN python -c "import tomllib; p = tomllib.load(open('pyproject.toml', 'rb'))['project']; \
print('\n'.join(p['dependencies'] + p['optional-dependencies']['postgres']))" > /tmp/requirements.txt \
 && pip wheel --wheel-dir /wheels -r /tmp/requirements.txt \
 && pip install --no-index --find-links /wheels -r /tmp/requirements.txt \
 && pip install "setuptools>=68" "wheel>=0.42" "Cython>=3.0"
COPY README.md setup.py ./
COPY app ./app
COPY graphs ./graphs
# A regular (not editable) wheel: the map page and migrations must be inside it.
# Then drop what the service never runs (pip, build tools, the libraries' own test
# suites) and prove what is left still computes a route and a plan.
RUN pip wheel --no-deps --no-build-isolation --wheel-dir /wheels . \
 && pip install --no-index --no-deps /wheels/safe_passage-*.whl \
 && pip uninstall --yes setuptools wheel Cython \
 && for package in numpy scipy pandas; do \
        find "/opt/venv/lib/python3.11/site-packages/$package" -depth -type d -name tests \
            -exec rm -rf {} + 2>/dev/null || true; \
    done \
 && python -m pip uninstall --yes pip \
 && python -I -c "import app.api.app, app.storage.db as db; assert (db.MIGRATIONS / 'env.py').is_file()" \
 && python -I -c "from app.domain.plans import _fast_kernel; from app.domain.routes import _search" \
 && safe-passage route /src/graphs/teaching.json --from hilltop --to camp --json > /dev/null \
 && safe-passage plan /src/graphs/teaching.json --json > /dev/null \
 && safe-passage plan /src/graphs/teaching.json --method fast --json > /dev/null

# --- runtime: the venv and the bundled scenarios, nothing else ---
FROM python:3.11-slim
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PORT=8000 \
    SERVE_ARGS="" \
    SAFE_PASSAGE_DATA_DIR=/data \
    SAFE_PASSAGE_DEMO_DIR=/opt/safe-passage/graphs
RUN groupadd --system --gid 10001 safe-passage \
 && useradd --system --uid 10001 --gid 10001 --no-create-home --home-dir /nonexistent \
        --shell /usr/sbin/nologin safe-passage \
 && mkdir /data \
 && chown safe-passage:safe-passage /data
COPY --from=build /opt/venv /opt/venv
COPY graphs/ /opt/safe-passage/graphs/
USER 10001:10001
VOLUME ["/data"]
EXPOSE 8000
HEALTHCHECK --interval=30s --timeout=5s --start-period=60s --retries=3 \
    CMD ["python", "-c", "import os, urllib.request as r; r.build_opener(r.ProxyHandler({})).open('http://127.0.0.1:' + os.environ.get('PORT', '8000') + '/v1/health', timeout=4)"]
# exec: the service is PID 1 and gets SIGTERM itself; it finishes requests in flight
# (up to 30 s) before it exits, so give `docker stop` a longer timeout (--stop-timeout 35).
# SERVE_ARGS adds options, e.g. "--demo" to load the bundled scenarios.
CMD ["sh", "-c", "exec safe-passage serve --host 0.0.0.0 --port \"$PORT\" $SERVE_ARGS"]
