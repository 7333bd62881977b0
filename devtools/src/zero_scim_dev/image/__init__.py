"""zero-scim's images, built with podman: the Debian base and the Dockerfile's targets."""
