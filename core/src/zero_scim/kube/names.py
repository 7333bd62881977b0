"""Object names of zero-scim's custom resources (DNS-1123 subdomains, at most 253 chars).

A ScimUser is named after its userName, not its SCIM id: ``u-`` + the first 40 hex
digits of SHA-256 over the caseless key of the userName (``zero_scim.scim.caseless``).
Two API replicas that receive the same POST at once then race for the same object name,
and the API server itself turns the second create into a conflict — case-insensitive
userName uniqueness in one write, with no separate claim object (docs/architecture.md,
"userName uniqueness").

A ScimGroup is named ``g-`` + its SCIM id (a UUID the API generates). A group's member
log entries are named after the group object and their seq
(:func:`zero_scim.memberlog.entry_name`).
"""

from __future__ import annotations

import hashlib
import re

from zero_scim.scim.text import caseless

_ID_SAFE = re.compile(r"^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$")


def username_key(user_name: str) -> str:
    """The form in which userNames are compared: the SCIM core's one caseless key (NFC,
    case folding, NFC). For every name whose folded NFC form is already NFC — all ASCII,
    nearly all text — it equals the earlier NFC-then-fold key, so object names stay."""
    return caseless(user_name)


def user_object_name(user_name: str) -> str:
    digest = hashlib.sha256(username_key(user_name).encode("utf-8")).hexdigest()
    return f"u-{digest[:40]}"


def group_object_name(group_id: str) -> str:
    if _ID_SAFE.match(group_id):
        return f"g-{group_id}"
    # Ids are UUIDs we generate; anything else (never expected) is hashed to stay valid.
    return f"g-{hashlib.sha256(group_id.encode('utf-8')).hexdigest()[:40]}"
