"""Single sign-on to Zero with Microsoft Entra ID (OpenID Connect), bound to SCIM.

Zero is the relying party of one multi-tenant app registration: each customer's Entra
tenant is linked to its org (``PUT /v1/orgs/{orgId}/sso``, set by the operator from
``ZeroTenant.spec.sso``), and a person signs in with the authorization code flow + PKCE.
Only accounts SCIM provisioned may sign in, keyed by the Entra (tenant id, object id)
pinned at the first sign-in; sessions are server-side and end when SCIM disables or
deletes the account. Modules, each with one job:

``settings``   the relying party's configuration (client, authority, cookies, lifetimes)
``oidc``       the identity provider over HTTP: discovery, JWKS (refetched on an unknown
               ``kid``), the code exchange
``idtoken``    ID-token validation (joserfc; RS256 only; iss per tenant, aud, nonce, times)
``store``      the SQL of sign-in: org links, transactions, used codes, identities, sessions
``service``    the sign-in itself: start, callback, current session, sign-out
``pages``      the HTML people see (who you are, why sign-in failed)
``resources``  Falcon resources: translate HTTP, cookies and redirects
"""
