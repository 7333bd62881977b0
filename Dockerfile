# syntax=docker/dockerfile:1
# Images of zero-scim, built in stages:
#
#   runtime (default)  `zero-scim api` (default command) and `zero-scim operator`: the
#                      production image, with neither the development tooling nor Zero's
#                      stand-in;
#   demo               the same plus `zero-scim accounts` (the local Zero accounts service).
#
# The builder turns the workspace members into wheels (zero-scim's own and every
# dependency's) and installs them into a venv at the path the final image uses; the final
# stages copy that venv and keep nothing else: no compiler, no pip, no sources.
#
#   docker build -t zero-scim .                         # or: zero-scim image build
#   docker build --target demo -t zero-scim-demo .
#   docker build --build-arg PYTHON_IMAGE=localhost/debian-python:bookworm .
ARG PYTHON_IMAGE=python:3.11-slim-bookworm

FROM ${PYTHON_IMAGE} AS builder
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PYTHONDONTWRITEBYTECODE=1
WORKDIR /src
COPY core/ core/
COPY api/ api/
COPY operator/ operator/
COPY accounts/ accounts/
# A build venv of its own: its pip works on any base, including a Debian-packaged Python
# that refuses pip in the system interpreter (PEP 668). Every dependency with native code
# ships manylinux wheels for CPython 3.11: no compiler is needed. pip's download cache is a
# build cache mount: it speeds up rebuilds after a source change and never enters a layer.
RUN --mount=type=cache,target=/root/.cache/pip \
    python3 -m venv /opt/build \
 && /opt/build/bin/pip wheel --wheel-dir /wheels ./core ./api ./operator ./accounts

FROM builder AS venv-runtime
RUN python3 -m venv --without-pip /opt/zero-scim/venv \
 && /opt/build/bin/pip --python /opt/zero-scim/venv/bin/python install --no-index \
      --find-links=/wheels zero-scim-api zero-scim-operator

FROM builder AS venv-demo
RUN python3 -m venv --without-pip /opt/zero-scim/venv \
 && /opt/build/bin/pip --python /opt/zero-scim/venv/bin/python install --no-index \
      --find-links=/wheels zero-scim-api zero-scim-operator zero-scim-accounts

FROM ${PYTHON_IMAGE} AS base
# PATH is set after the clean-up below, which must run with the base image's own PATH.
# A system user, and no pip left from the base image: neither the package (the official
# image keeps pip, setuptools and wheel in /usr/local) nor the wheels that ensurepip or a
# Debian python3-venv would install it from. The same commands on either base; globs that
# match nothing are fine.
RUN groupadd --system --gid 10001 zero-scim \
 && useradd --system --uid 10001 --gid 10001 --home-dir /nonexistent --no-create-home \
      --shell /usr/sbin/nologin zero-scim \
 && rm -rf /usr/local/bin/pip* /usr/local/bin/wheel /usr/bin/pip /usr/bin/pip3* \
      /usr/local/lib/python3*/site-packages/pip /usr/local/lib/python3*/site-packages/pip-* \
      /usr/local/lib/python3*/site-packages/setuptools* \
      /usr/local/lib/python3*/site-packages/wheel /usr/local/lib/python3*/site-packages/wheel-* \
      /usr/local/lib/python3*/ensurepip/_bundled/*.whl \
      /usr/lib/python3/dist-packages/pip /usr/lib/python3/dist-packages/pip-* \
      /usr/lib/python3.*/ensurepip/_bundled/*.whl /usr/share/python-wheels/*.whl
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PATH=/opt/zero-scim/venv/bin:$PATH
WORKDIR /opt/zero-scim
EXPOSE 8080
ENTRYPOINT ["zero-scim"]
CMD ["api"]

FROM base AS demo
COPY --from=venv-demo /opt/zero-scim/venv /opt/zero-scim/venv
RUN zero-scim --help >/dev/null
USER 10001:10001

FROM base AS runtime
COPY --from=venv-runtime /opt/zero-scim/venv /opt/zero-scim/venv
RUN zero-scim --help >/dev/null
USER 10001:10001
