# syntax=docker/dockerfile:1
# One image for the three commands: `zero-scim api` (default), `zero-scim operator`,
# `zero-scim accounts`. Built in two stages: the builder turns the checkout into wheels
# (zero-scim's own and every dependency's); the runtime stage installs them into a venv
# and keeps nothing else: no compiler, no pip, no sources, no build cache.
#
#   docker build -t zero-scim .
#   docker run --rm zero-scim --help
ARG PYTHON_IMAGE=python:3.11-slim-bookworm

FROM ${PYTHON_IMAGE} AS builder
ENV PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PYTHONDONTWRITEBYTECODE=1
WORKDIR /src
# The package: pyproject.toml + setup.py map api/, operator/ and accounts/ into zero_scim.
COPY pyproject.toml setup.py README.md ./
COPY zero_scim/ zero_scim/
COPY api/ api/
COPY operator/ operator/
COPY accounts/ accounts/
COPY crds/ crds/
# Every dependency with native code (httptools, uvloop, orjson, pydantic-core, aiohttp)
# ships manylinux wheels for CPython 3.11: no compiler is needed, here or later.
RUN pip wheel --wheel-dir /wheels . \
 && ls /wheels/zero_scim-*.whl

FROM ${PYTHON_IMAGE} AS runtime
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PATH=/opt/zero-scim/venv/bin:$PATH \
    ZERO_SCIM_CRDS_DIR=/opt/zero-scim/crds
RUN groupadd --system --gid 10001 zero-scim \
 && useradd --system --uid 10001 --gid 10001 --home-dir /nonexistent --no-create-home \
      --shell /usr/sbin/nologin zero-scim
# Install from the builder's wheels only (--no-index: nothing is fetched here), then drop
# pip and setuptools from the venv and the base image.
RUN --mount=type=bind,from=builder,source=/wheels,target=/wheels \
    python -m venv /opt/zero-scim/venv \
 && /opt/zero-scim/venv/bin/pip install --no-cache-dir --no-index --find-links=/wheels zero-scim \
 && /opt/zero-scim/venv/bin/pip uninstall --yes pip setuptools \
 && python -m pip uninstall --yes pip setuptools wheel \
 && zero-scim --help >/dev/null
# `zero-scim crds apply` and the tests read the CRDs from here.
COPY crds/ /opt/zero-scim/crds/
USER 10001:10001
WORKDIR /opt/zero-scim
EXPOSE 8080
ENTRYPOINT ["zero-scim"]
CMD ["api"]
