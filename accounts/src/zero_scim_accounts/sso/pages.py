"""The HTML a person sees: who they are in Zero, why a sign-in failed, signed out.

Small, self-contained pages (no scripts, one inline style allowed by hash in the
Content-Security-Policy). Every value is escaped. Error pages say what happened and what
the person can do, in words, and carry a stable code (``data-error-code``) for support
and tests; they never show internal ids, hosts or stack traces.
"""

from __future__ import annotations

import base64
import hashlib
from dataclasses import dataclass
from datetime import UTC, datetime
from html import escape
from urllib.parse import quote

from zero_scim_accounts.sso.store import SessionView

_STYLE = (
    "body{font-family:system-ui,-apple-system,'Segoe UI',sans-serif;margin:0;color:#1b1b1b;"
    "background:#f6f7f9}main{max-width:36rem;margin:3rem auto;padding:2rem;background:#fff;"
    "border-radius:8px;box-shadow:0 1px 3px rgba(0,0,0,.12)}h1{font-size:1.5rem;margin-top:0}"
    "dl{display:grid;grid-template-columns:max-content 1fr;gap:.4rem 1rem}dt{color:#5f6368}"
    "dd{margin:0}ul{margin:0;padding-left:1.2rem}.muted{color:#5f6368;font-size:.9rem}"
    "button,.button{font:inherit;padding:.45rem 1.2rem;border:1px solid #0f6cbd;"
    "border-radius:4px;background:#0f6cbd;color:#fff;text-decoration:none;cursor:pointer}"
)
STYLE_HASH = base64.b64encode(hashlib.sha256(_STYLE.encode()).digest()).decode()
#: Sent with every page: nothing loads, nothing frames it, forms post only here.
CONTENT_SECURITY_POLICY = (
    f"default-src 'none'; style-src 'sha256-{STYLE_HASH}'; form-action 'self'; "
    "frame-ancestors 'none'; base-uri 'none'"
)


@dataclass(frozen=True, slots=True)
class Explanation:
    title: str
    what: str
    todo: str


#: What each failure means for a person (status codes are the service's business).
EXPLANATIONS: dict[str, Explanation] = {
    "not_provisioned": Explanation(
        "You don't have access to Zero yet",
        "Your organisation has not given your account access to Zero: Zero only lets in "
        "people their administrator assigned to Zero in Microsoft Entra ID.",
        "Ask your IT administrator to assign you to the Zero app. Once they have, sign in again.",
    ),
    "account_disabled": Explanation(
        "Your Zero account is disabled",
        "Your administrator has turned off your access to Zero.",
        "If you think this is a mistake, contact your IT administrator.",
    ),
    "wrong_tenant": Explanation(
        "This account belongs to another organisation",
        "You signed in with an account from a different Microsoft Entra organisation than "
        "the one this Zero sign-in link is for.",
        "Sign out of your Microsoft account, then sign in with your work account for this "
        "organisation.",
    ),
    "identity_conflict": Explanation(
        "Your Zero account is linked to someone else",
        "The Zero account with your username is already linked to a different Microsoft "
        "account, so Zero did not sign you in.",
        "Ask your IT administrator to check your account in Microsoft Entra ID.",
    ),
    "bad_state": Explanation(
        "This sign-in has expired",
        "The sign-in took too long, was started in another browser, or was already completed.",
        "Start again from your organisation's Zero sign-in link.",
    ),
    "code_replayed": Explanation(
        "This sign-in was already used",
        "The answer from the identity provider had been used before, so Zero ignored it.",
        "Start again from your organisation's Zero sign-in link.",
    ),
    "code_rejected": Explanation(
        "Your sign-in could not be confirmed",
        "The identity provider did not confirm this sign-in.",
        "Start again from your organisation's Zero sign-in link.",
    ),
    "invalid_token": Explanation(
        "We could not verify your sign-in",
        "The answer from the identity provider could not be verified, so Zero did not sign you in.",
        "Try again. If it keeps happening, tell your IT administrator.",
    ),
    "idp_error": Explanation(
        "The identity provider did not sign you in",
        "The sign-in was cancelled or refused by Microsoft Entra ID.",
        "Try again, or ask your IT administrator whether you may use Zero.",
    ),
    "idp_unavailable": Explanation(
        "Sign-in is unavailable right now",
        "Zero cannot reach the identity provider at the moment.",
        "Wait a minute and try again.",
    ),
    "sso_not_configured": Explanation(
        "Single sign-on is not set up",
        "This organisation does not sign in to Zero with Microsoft Entra ID (yet).",
        "Ask your IT administrator for the right sign-in link.",
    ),
    "bad_request": Explanation(
        "This sign-in link is incomplete",
        "The link is missing something Zero needs.",
        "Start again from your organisation's Zero sign-in link.",
    ),
    "not_signed_in": Explanation(
        "You are not signed in",
        "Your session has ended, or you have not signed in to Zero in this browser.",
        "Sign in from your organisation's Zero sign-in link.",
    ),
}


def start_link(org_id: str) -> str:
    return f"/sso/start?org={quote(org_id, safe='')}"


def _page(title: str, body: str, *, code: str | None = None) -> str:
    marker = f' data-error-code="{escape(code)}"' if code else ""
    return (
        '<!doctype html><html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{escape(title)} · Zero</title><style>{_STYLE}</style></head>"
        f"<body><main{marker}>{body}</main></body></html>"
    )


def error_page(code: str, org_id: str | None, username: str | None = None) -> str:
    explanation = EXPLANATIONS.get(code, EXPLANATIONS["invalid_token"])
    who = (
        f"<p>You signed in as <strong>{escape(username)}</strong>.</p>"
        if username and code in ("not_provisioned", "account_disabled", "wrong_tenant")
        else ""
    )
    retry = (
        f'<p><a class="button" href="{escape(start_link(org_id))}">Sign in again</a></p>'
        if org_id
        else ""
    )
    body = (
        f"<h1>{escape(explanation.title)}</h1>{who}<p>{escape(explanation.what)}</p>"
        f"<p>{escape(explanation.todo)}</p>{retry}"
        f'<p class="muted">Error code: <code>{escape(code)}</code></p>'
    )
    return _page(explanation.title, body, code=code)


def _when(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, UTC).strftime("%Y-%m-%d %H:%M UTC")


def who_you_are(view: SessionView) -> str:
    profile = view.account.profile
    user_name = str(profile.get("userName") or "")
    display = str(profile.get("displayName") or "") or " ".join(
        str(p) for p in (profile.get("givenName"), profile.get("familyName")) if p
    )
    groups = [str(g.profile.get("displayName") or g.external_key) for g in view.groups]
    roles_value = profile.get("roles")
    roles = [str(r) for r in roles_value] if isinstance(roles_value, list) else []

    def listing(items: list[str], empty: str) -> str:
        if not items:
            return f'<span class="muted">{escape(empty)}</span>'
        return "<ul>" + "".join(f"<li>{escape(i)}</li>" for i in items) + "</ul>"

    rows = [
        ("Display name", escape(display) if display else '<span class="muted">—</span>'),
        ("User name", escape(user_name)),
        ("E-mail", escape(str(profile.get("email") or "—"))),
        ("Organisation", escape(view.org_id)),
        ("Groups", listing(groups, "no groups")),
        ("Roles", listing(roles, "no roles")),
    ]
    details = "".join(f"<dt>{label}</dt><dd>{value}</dd>" for label, value in rows)
    greeting = display or user_name
    body = (
        f"<h1>Hello, {escape(greeting)}</h1>"
        "<p>You are signed in to Zero with Microsoft Entra ID.</p>"
        f'<dl id="profile">{details}</dl>'
        f'<p class="muted">Signed in {_when(view.created_at)}; this session ends by '
        f"{_when(view.expires_at)} at the latest.</p>"
        '<form method="post" action="/sso/logout"><button type="submit">Sign out</button></form>'
    )
    return _page("Your Zero account", body)


def signed_out(org_id: str | None) -> str:
    again = (
        f'<p><a class="button" href="{escape(start_link(org_id))}">Sign in again</a></p>'
        if org_id
        else ""
    )
    return _page(
        "Signed out",
        f"<h1>You are signed out of Zero</h1><p>Your session has ended.</p>{again}",
    )
