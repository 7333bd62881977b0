"""Services: SCIM semantics between the HTTP handlers and storage."""
