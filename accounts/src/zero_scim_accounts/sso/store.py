"""The SQL of sign-in: org links, transactions, used codes, identities and sessions.

Runs on the database thread like :class:`~zero_scim_accounts.store.Store` (build one per
call: ``db.run(lambda store: SignIns(store).take_transaction(...))``); the tables are
defined in :mod:`zero_scim_accounts.store`, whose account writes end sessions in the same
transaction that disables or deletes an account.

The rules of who may sign in hold inside one write transaction (:meth:`SignIns.sign_in`):

1. the org links the token's Entra tenant (``wrong_tenant`` otherwise);
2. an identity (tenant id, object id) already bound to an account signs in to that
   account -- whatever its ``preferred_username`` says now (renames keep the binding);
3. otherwise it links once, by the provisioned ``userName`` within the org, to an
   account no other identity holds (``not_provisioned``, ``identity_conflict``);
4. a disabled account never signs in (``account_disabled``). Nothing is ever created.

A session is valid while its account is enabled, its identity still bound, the org still
links its tenant, and neither lifetime has run out; each lookup checks all of it.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass

from zero_scim_accounts.store import (
    NO_PRECONDITION,
    AccountRecord,
    GroupRecord,
    NotFound,
    Precondition,
    Store,
    account_record,
    group_record,
    normalize_user_name,
    now,
)

REASONS = ("wrong_tenant", "not_provisioned", "identity_conflict", "account_disabled")


class SignInRefused(Exception):
    """Who signed in may not use the org; ``reason`` is one of :data:`REASONS`."""

    def __init__(self, reason: str, detail: str) -> None:
        super().__init__(detail)
        self.reason = reason
        self.detail = detail


@dataclass(frozen=True, slots=True)
class SsoConfig:
    org_id: str
    tenant_id: str
    enabled: bool
    version: int
    created_at: str
    updated_at: str


@dataclass(frozen=True, slots=True)
class Transaction:
    state_hash: str
    binding_hash: str
    org_id: str
    nonce: str
    code_verifier: str
    expires_at: float


@dataclass(frozen=True, slots=True)
class NewSession:
    id_hash: str
    org_id: str
    tenant_id: str
    object_id: str
    username: str | None
    created_at: float
    expires_at: float


@dataclass(frozen=True, slots=True)
class SessionView:
    """A live session: the account it signs in to and that account's groups, read now."""

    org_id: str
    tenant_id: str
    object_id: str
    account: AccountRecord
    groups: list[GroupRecord]
    created_at: float
    expires_at: float
    idle_expires_at: float


class SignIns:
    def __init__(self, store: Store) -> None:
        self._store = store
        self._conn = store.connection

    # -- the org's link to an Entra tenant -----------------------------------------------

    def config(self, org_id: str) -> SsoConfig | None:
        row = self._conn.execute("SELECT * FROM org_sso WHERE org_id = ?", (org_id,)).fetchone()
        return None if row is None else _config(row)

    def put_config(
        self,
        org_id: str,
        tenant_id: str,
        enabled: bool,
        cond: Precondition = NO_PRECONDITION,
    ) -> tuple[SsoConfig, bool]:
        """Link ``tenant_id`` (created: True). Changing or disabling it ends the org's sessions.

        Identities of another tenant are unbound (their accounts may link again to the
        new tenant's identities): a tenant change is a move, not an addition.
        """
        tenant_id = tenant_id.lower()
        stamp = now()
        with self._store.transaction() as conn:
            current = self.config(org_id)
            cond.check(None if current is None else current.version)
            if current is not None and (current.tenant_id, current.enabled) == (tenant_id, enabled):
                return current, False
            if current is None:
                conn.execute(
                    "INSERT INTO org_sso (org_id, tenant_id, enabled, version, created_at,"
                    " updated_at) VALUES (?, ?, ?, 1, ?, ?)",
                    (org_id, tenant_id, enabled, stamp, stamp),
                )
            else:
                conn.execute(
                    "UPDATE org_sso SET tenant_id = ?, enabled = ?, version = version + 1,"
                    " updated_at = ? WHERE org_id = ?",
                    (tenant_id, enabled, stamp, org_id),
                )
            conn.execute(
                "DELETE FROM sso_identities WHERE org_id = ? AND tenant_id != ?",
                (org_id, tenant_id),
            )
            if not enabled:
                conn.execute("DELETE FROM sso_sessions WHERE org_id = ?", (org_id,))
            else:
                conn.execute(
                    "DELETE FROM sso_sessions WHERE org_id = ? AND tenant_id != ?",
                    (org_id, tenant_id),
                )
            config = self.config(org_id)
        assert config is not None
        return config, current is None

    def delete_config(self, org_id: str) -> None:
        """Unlink the org's tenant: no more sign-ins, every session ends, bindings go."""
        with self._store.transaction() as conn:
            if self.config(org_id) is None:
                raise NotFound("sso", org_id)
            conn.execute("DELETE FROM org_sso WHERE org_id = ?", (org_id,))
            conn.execute("DELETE FROM sso_sessions WHERE org_id = ?", (org_id,))
            conn.execute("DELETE FROM sso_identities WHERE org_id = ?", (org_id,))

    # -- transactions and codes ----------------------------------------------------------

    def add_transaction(self, tx: Transaction, at: float) -> None:
        with self._store.transaction() as conn:
            conn.execute("DELETE FROM sso_transactions WHERE expires_at <= ?", (at,))
            conn.execute("DELETE FROM sso_used_codes WHERE expires_at <= ?", (at,))
            conn.execute(
                "DELETE FROM sso_sessions WHERE expires_at <= ?", (at,)
            )  # idle ones go when looked up
            conn.execute(
                "INSERT INTO sso_transactions (state_hash, binding_hash, org_id, nonce,"
                " code_verifier, expires_at) VALUES (?, ?, ?, ?, ?, ?)",
                (
                    tx.state_hash,
                    tx.binding_hash,
                    tx.org_id,
                    tx.nonce,
                    tx.code_verifier,
                    tx.expires_at,
                ),
            )

    def take_transaction(self, state_hash: str, at: float) -> Transaction | None:
        """The transaction of ``state`` if it is live; it is gone afterwards either way."""
        with self._store.transaction() as conn:
            row = conn.execute(
                "DELETE FROM sso_transactions WHERE state_hash = ? RETURNING *", (state_hash,)
            ).fetchone()
        if row is None or row["expires_at"] <= at:
            return None
        return Transaction(
            state_hash=row["state_hash"],
            binding_hash=row["binding_hash"],
            org_id=row["org_id"],
            nonce=row["nonce"],
            code_verifier=row["code_verifier"],
            expires_at=row["expires_at"],
        )

    def claim_code(self, code_hash: str, expires_at: float) -> bool:
        """Record a code as redeemed: False if it already was (a replay)."""
        with self._store.transaction() as conn:
            inserted = conn.execute(
                "INSERT INTO sso_used_codes (code_hash, expires_at) VALUES (?, ?)"
                " ON CONFLICT DO NOTHING",
                (code_hash, expires_at),
            ).rowcount
        return inserted == 1

    # -- signing in ----------------------------------------------------------------------

    def sign_in(self, session: NewSession) -> AccountRecord:
        """Resolve the identity to its account and open ``session`` (or :class:`SignInRefused`)."""
        org, tid, oid = session.org_id, session.tenant_id, session.object_id
        with self._store.transaction() as conn:
            config = self.config(org)
            if config is None or not config.enabled:
                raise SignInRefused("wrong_tenant", f"org {org} has no single sign-on")
            if config.tenant_id != tid:
                raise SignInRefused(
                    "wrong_tenant", f"org {org} links tenant {config.tenant_id}, not {tid}"
                )
            bound = conn.execute(
                "SELECT account_id FROM sso_identities"
                " WHERE org_id = ? AND tenant_id = ? AND object_id = ?",
                (org, tid, oid),
            ).fetchone()
            if bound is not None:
                account = self._account_by_id(bound["account_id"])
            else:
                account = self._link(conn, session)
            if not account.enabled:
                raise SignInRefused("account_disabled", f"account {account.external_key}")
            conn.execute(
                "INSERT INTO sso_sessions (id_hash, org_id, account_id, tenant_id, object_id,"
                " created_at, last_seen_at, expires_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    session.id_hash,
                    org,
                    account.id,
                    tid,
                    oid,
                    session.created_at,
                    session.created_at,
                    session.expires_at,
                ),
            )
        return account

    def _link(self, conn: sqlite3.Connection, session: NewSession) -> AccountRecord:
        if not session.username:
            raise SignInRefused("not_provisioned", "the token carries no preferred_username")
        rows = conn.execute(
            "SELECT * FROM accounts WHERE org_id = ? AND user_name_norm = ?",
            (session.org_id, normalize_user_name(session.username)),
        ).fetchall()
        if not rows:
            raise SignInRefused("not_provisioned", f"no account has userName {session.username}")
        if len(rows) > 1:
            raise SignInRefused("identity_conflict", f"{len(rows)} accounts share that userName")
        account = account_record(rows[0])
        holder = conn.execute(
            "SELECT tenant_id, object_id FROM sso_identities WHERE account_id = ?", (account.id,)
        ).fetchone()
        if holder is not None:
            raise SignInRefused(
                "identity_conflict",
                f"account {account.external_key} is bound to object id {holder['object_id']}",
            )
        if not account.enabled:
            raise SignInRefused("account_disabled", f"account {account.external_key}")
        conn.execute(
            "INSERT INTO sso_identities (org_id, tenant_id, object_id, account_id, linked_at)"
            " VALUES (?, ?, ?, ?, ?)",
            (session.org_id, session.tenant_id, session.object_id, account.id, now()),
        )
        return account

    def _account_by_id(self, account_id: str) -> AccountRecord:
        row = self._conn.execute("SELECT * FROM accounts WHERE id = ?", (account_id,)).fetchone()
        assert row is not None  # identities go with their account (ON DELETE CASCADE)
        return account_record(row)

    # -- sessions ------------------------------------------------------------------------

    def session(
        self, id_hash: str, at: float, *, idle: float, touch_after: float
    ) -> SessionView | None:
        """The live session ``id_hash`` (its idle clock restarted), or ``None``."""
        row = self._conn.execute(
            "SELECT s.org_id, s.tenant_id, s.object_id, s.created_at AS signed_in_at,"
            " s.last_seen_at, s.expires_at, a.* FROM sso_sessions s"
            " JOIN accounts a ON a.id = s.account_id"
            " JOIN sso_identities i ON i.account_id = s.account_id AND i.org_id = s.org_id"
            "  AND i.tenant_id = s.tenant_id AND i.object_id = s.object_id"
            " JOIN org_sso o ON o.org_id = s.org_id AND o.tenant_id = s.tenant_id"
            " WHERE s.id_hash = ? AND a.enabled = 1 AND o.enabled = 1",
            (id_hash,),
        ).fetchone()
        if row is None:
            return None
        last_seen: float = row["last_seen_at"]
        if row["expires_at"] <= at or last_seen + idle <= at:
            self.end_session(id_hash)
            return None
        if at - last_seen >= touch_after:
            with self._store.transaction() as conn:
                conn.execute(
                    "UPDATE sso_sessions SET last_seen_at = ? WHERE id_hash = ?", (at, id_hash)
                )
            last_seen = at
        account = account_record(row)
        return SessionView(
            org_id=row["org_id"],
            tenant_id=row["tenant_id"],
            object_id=row["object_id"],
            account=account,
            groups=self._groups(row["org_id"], account.external_key),
            created_at=row["signed_in_at"],
            expires_at=row["expires_at"],
            idle_expires_at=min(row["expires_at"], last_seen + idle),
        )

    def end_session(self, id_hash: str) -> str | None:
        """Delete the session; the org it belonged to, if it existed."""
        with self._store.transaction() as conn:
            row = conn.execute(
                "DELETE FROM sso_sessions WHERE id_hash = ? RETURNING org_id", (id_hash,)
            ).fetchone()
        return None if row is None else str(row["org_id"])

    def count_sessions(self, account_id: str) -> int:
        row = self._conn.execute(
            "SELECT count(*) AS n FROM sso_sessions WHERE account_id = ?", (account_id,)
        ).fetchone()
        return int(row["n"])

    def _groups(self, org_id: str, account_key: str) -> list[GroupRecord]:
        rows = self._conn.execute(
            "SELECT g.* FROM group_members m JOIN account_groups g"
            " ON g.org_id = m.org_id AND g.external_key = m.group_key"
            " WHERE m.org_id = ? AND m.account_key = ?",
            (org_id, account_key),
        ).fetchall()
        groups = [group_record(r) for r in rows]
        return sorted(groups, key=lambda g: (str(g.profile.get("displayName", "")), g.external_key))


def _config(row: sqlite3.Row) -> SsoConfig:
    return SsoConfig(
        org_id=row["org_id"],
        tenant_id=row["tenant_id"],
        enabled=bool(row["enabled"]),
        version=row["version"],
        created_at=row["created_at"],
        updated_at=row["updated_at"],
    )
