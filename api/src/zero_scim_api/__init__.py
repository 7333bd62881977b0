"""The SCIM 2.0 endpoint: Falcon resources (handlers) over services over storage."""
