"""Microsoft's documented Entra request bodies (the reference's entra-examples.md, with their
typos fixed), shared by the core's unit tests and the tests through the real server."""

from __future__ import annotations

from typing import Any

USER_URN = "urn:ietf:params:scim:schemas:core:2.0:User"
ENTERPRISE = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"

#: E1: the POST /Users of a new user.
E1: dict[str, Any] = {
    "schemas": [USER_URN, ENTERPRISE],
    "externalId": "0a21f0f2-8d2a-4f8e-bf98-7363c4aed4ef",
    "userName": "Test_User_00aa00aa-bb11-cc22-dd33-44ee44ee44ee",
    "active": True,
    "emails": [
        {
            "primary": True,
            "type": "work",
            "value": "Test_User_11bb11bb-cc22-dd33-ee44-55ff55ff55ff@testuser.com",
        }
    ],
    "meta": {"resourceType": "User"},
    "name": {
        "formatted": "givenName familyName",
        "familyName": "familyName",
        "givenName": "givenName",
    },
    "roles": [],
}

#: E23: a work e-mail replaced by filter path, then a path-less replace whose keys are
#: dotted and URN paths.
E23_OPERATIONS: tuple[dict[str, Any], ...] = (
    {
        "op": "replace",
        "path": 'emails[type eq "work"].value',
        "value": "TestMhvaes@test.microsoft.com",
    },
    {
        "op": "replace",
        "value": {
            "displayName": "Bjfe",
            "name.givenName": "Kkom",
            "name.familyName": "Unua",
            f"{ENTERPRISE}:employeeNumber": "Aklq",
        },
    },
)
