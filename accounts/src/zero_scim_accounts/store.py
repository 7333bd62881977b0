"""SQLite storage: the only module that knows SQL.

:class:`Store` is synchronous and owns one connection. :class:`Database` runs every store
call on one dedicated worker thread, so the event loop never blocks on disk and all access
is serialised (a simple, obviously-correct model for a single-process service: no
``SQLITE_BUSY``, no lost updates). Each write is one ``BEGIN IMMEDIATE`` transaction; the
database is in WAL mode with ``synchronous=NORMAL``: a committed write survives the
process being killed or restarted (what this local stand-in promises); only a power loss
can cost the last transactions. FULL (an fsync per commit) capped the service at ~110
writes/s on this disk, under the operator's 100 users/s target.

Business rules that must hold inside a transaction live here too: preconditions
(If-Match), version bumps only on real change, e-mail uniqueness, membership batches,
and that disabling or deleting an account ends its sign-in sessions in the same
transaction (the sign-in tables are defined here, their queries live in
:mod:`zero_scim_accounts.sso.store`). Violations raise :class:`StoreError` subclasses,
which the app turns into HTTP errors.
"""

from __future__ import annotations

import asyncio
import hashlib
import sqlite3
import unicodedata
import uuid
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Generic, TypeVar

import orjson

from zero_scim_accounts.jsontypes import JsonObject

T = TypeVar("T")

#: 2: ``accounts.user_name_norm`` (sign-in links by userName) and the sign-in tables.
SCHEMA_VERSION = 2

_SCHEMA = """
CREATE TABLE IF NOT EXISTS orgs (
    id TEXT PRIMARY KEY,
    created_at TEXT NOT NULL
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS api_keys (
    key_hash TEXT PRIMARY KEY,
    org_id TEXT NOT NULL REFERENCES orgs(id) ON DELETE CASCADE,
    created_at TEXT NOT NULL
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS accounts (
    org_id TEXT NOT NULL REFERENCES orgs(id),
    external_key TEXT NOT NULL,
    id TEXT NOT NULL UNIQUE,
    email_norm TEXT,
    user_name_norm TEXT,
    enabled INTEGER NOT NULL,
    profile TEXT NOT NULL,
    version INTEGER NOT NULL,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    PRIMARY KEY (org_id, external_key)
) WITHOUT ROWID;
CREATE UNIQUE INDEX IF NOT EXISTS accounts_email
    ON accounts (org_id, email_norm) WHERE email_norm IS NOT NULL;
CREATE TABLE IF NOT EXISTS account_groups (
    org_id TEXT NOT NULL REFERENCES orgs(id),
    external_key TEXT NOT NULL,
    id TEXT NOT NULL UNIQUE,
    profile TEXT NOT NULL,
    version INTEGER NOT NULL,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    PRIMARY KEY (org_id, external_key)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS group_members (
    org_id TEXT NOT NULL,
    group_key TEXT NOT NULL,
    account_key TEXT NOT NULL,
    added_at TEXT NOT NULL,
    PRIMARY KEY (org_id, group_key, account_key),
    FOREIGN KEY (org_id, group_key)
        REFERENCES account_groups (org_id, external_key) ON DELETE CASCADE,
    FOREIGN KEY (org_id, account_key)
        REFERENCES accounts (org_id, external_key) ON DELETE CASCADE
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS group_members_account ON group_members (org_id, account_key);

-- Single sign-on (docs/architecture.md, "Single sign-on"). Which Entra tenant signs in
-- to an org (set by the operator from ZeroTenant spec.sso):
CREATE TABLE IF NOT EXISTS org_sso (
    org_id TEXT PRIMARY KEY REFERENCES orgs(id) ON DELETE CASCADE,
    tenant_id TEXT NOT NULL,
    enabled INTEGER NOT NULL,
    version INTEGER NOT NULL,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
) WITHOUT ROWID;
-- A sign-in in flight: /sso/start wrote it, /sso/callback takes it (once).
CREATE TABLE IF NOT EXISTS sso_transactions (
    state_hash TEXT PRIMARY KEY,
    binding_hash TEXT NOT NULL,
    org_id TEXT NOT NULL,
    nonce TEXT NOT NULL,
    code_verifier TEXT NOT NULL,
    expires_at REAL NOT NULL
) WITHOUT ROWID;
-- Authorization codes already redeemed (until they could no longer be valid anyway).
CREATE TABLE IF NOT EXISTS sso_used_codes (
    code_hash TEXT PRIMARY KEY,
    expires_at REAL NOT NULL
) WITHOUT ROWID;
-- An Entra identity (tenant id, object id) pinned to the account it first linked to.
CREATE TABLE IF NOT EXISTS sso_identities (
    org_id TEXT NOT NULL,
    tenant_id TEXT NOT NULL,
    object_id TEXT NOT NULL,
    account_id TEXT NOT NULL UNIQUE REFERENCES accounts(id) ON DELETE CASCADE,
    linked_at TEXT NOT NULL,
    PRIMARY KEY (org_id, tenant_id, object_id)
) WITHOUT ROWID;
-- Server-side sessions, keyed by the SHA-256 of the cookie's random id.
CREATE TABLE IF NOT EXISTS sso_sessions (
    id_hash TEXT PRIMARY KEY,
    org_id TEXT NOT NULL,
    account_id TEXT NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
    tenant_id TEXT NOT NULL,
    object_id TEXT NOT NULL,
    created_at REAL NOT NULL,
    last_seen_at REAL NOT NULL,
    expires_at REAL NOT NULL
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS sso_sessions_account ON sso_sessions (account_id);
"""

#: Created after the migration, which adds the column they index to older databases.
_INDEXES = """
CREATE INDEX IF NOT EXISTS accounts_user_name ON accounts (org_id, user_name_norm);
"""


# --- errors -------------------------------------------------------------------------------


class StoreError(Exception):
    """A rule of the contract was violated; nothing was written."""


class NotFound(StoreError):
    def __init__(self, kind: str, key: str) -> None:
        super().__init__(f"{kind} {key!r} does not exist")
        self.kind = kind
        self.key = key


class PreconditionFailed(StoreError):
    def __init__(self, current: int | None) -> None:
        super().__init__("precondition failed")
        self.current = current


class EmailTaken(StoreError):
    def __init__(self, email: str, holder: str) -> None:
        super().__init__(f"e-mail {email!r} is already used by account {holder!r}")
        self.email = email
        self.holder = holder


# --- values -------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Precondition:
    """Conditional-request headers, already parsed.

    ``if_match``: ``None`` (absent), ``"*"``, or the set of versions that may match.
    ``if_none_match_any``: ``If-None-Match: *`` (create only).
    """

    if_match: frozenset[int] | str | None = None
    if_none_match_any: bool = False

    def check(self, current: int | None) -> None:
        if self.if_none_match_any and current is not None:
            raise PreconditionFailed(current)
        if self.if_match is None:
            return
        if current is None:
            raise PreconditionFailed(None)
        if self.if_match != "*" and current not in self.if_match:
            raise PreconditionFailed(current)


NO_PRECONDITION = Precondition()


@dataclass(frozen=True, slots=True)
class AccountRecord:
    id: str
    external_key: str
    profile: JsonObject
    enabled: bool
    version: int
    created_at: str
    updated_at: str


@dataclass(frozen=True, slots=True)
class GroupRecord:
    id: str
    external_key: str
    profile: JsonObject
    version: int
    created_at: str
    updated_at: str


@dataclass(frozen=True, slots=True)
class MemberRecord:
    account_key: str
    added_at: str


@dataclass(frozen=True, slots=True)
class Page(Generic[T]):
    items: list[T]
    #: Sort key of the last item when more items follow; ``None`` at the end.
    next_after: str | None


@dataclass(frozen=True, slots=True)
class BatchResult:
    added: int
    removed: int
    missing: list[str]


def hash_key(api_key: str) -> str:
    """API keys are stored as SHA-256 digests, never in clear."""
    return hashlib.sha256(api_key.encode()).hexdigest()


def now() -> str:
    """RFC 3339 UTC timestamp with millisecond precision."""
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _new_id(prefix: str) -> str:
    return f"{prefix}_{uuid.uuid4().hex}"


def _dump(profile: JsonObject) -> str:
    return orjson.dumps(profile, option=orjson.OPT_SORT_KEYS).decode()


def _email_norm(profile: JsonObject) -> str | None:
    email = profile.get("email")
    return email.lower() if isinstance(email, str) else None


def normalize_user_name(user_name: str) -> str:
    """userName as SCIM compares it (case-insensitively): NFC of the case-folded string."""
    return unicodedata.normalize("NFC", user_name.casefold())


def _user_name_norm(profile: JsonObject) -> str | None:
    user_name = profile.get("userName")
    return normalize_user_name(user_name) if isinstance(user_name, str) else None


def _end_sessions(conn: sqlite3.Connection, account_id: str) -> None:
    """A disabled account is signed out everywhere, in the transaction that disables it."""
    conn.execute("DELETE FROM sso_sessions WHERE account_id = ?", (account_id,))


def _migrate(conn: sqlite3.Connection) -> None:
    """Bring a database of an older schema version up to :data:`SCHEMA_VERSION`."""
    columns = {row["name"] for row in conn.execute("PRAGMA table_info(accounts)")}
    if "user_name_norm" not in columns:
        conn.execute("ALTER TABLE accounts ADD COLUMN user_name_norm TEXT")
        rows = conn.execute("SELECT org_id, external_key, profile FROM accounts").fetchall()
        for row in rows:
            conn.execute(
                "UPDATE accounts SET user_name_norm = ? WHERE org_id = ? AND external_key = ?",
                (_user_name_norm(orjson.loads(row["profile"])), row["org_id"], row["external_key"]),
            )


# --- the store ----------------------------------------------------------------------------


class Store:
    """Synchronous access to one SQLite database. Not thread-safe: see :class:`Database`."""

    def __init__(self, conn: sqlite3.Connection) -> None:
        self._conn = conn

    @classmethod
    def open(cls, path: str | Path) -> Store:
        conn = sqlite3.connect(str(path), isolation_level=None)
        conn.row_factory = sqlite3.Row
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=NORMAL")
        conn.execute("PRAGMA foreign_keys=ON")
        conn.execute("PRAGMA busy_timeout=5000")
        store = cls(conn)
        with store.transaction():
            for statement in _SCHEMA.split(";"):
                if statement.strip():
                    conn.execute(statement)
            _migrate(conn)
            for statement in _INDEXES.split(";"):
                if statement.strip():
                    conn.execute(statement)
            conn.execute(f"PRAGMA user_version={SCHEMA_VERSION}")
        return store

    def close(self) -> None:
        self._conn.close()

    @property
    def connection(self) -> sqlite3.Connection:
        """The connection, for the other modules that know SQL (:mod:`.sso.store`)."""
        return self._conn

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """One ``BEGIN IMMEDIATE`` write transaction: committed on exit, rolled back on error."""
        self._conn.execute("BEGIN IMMEDIATE")
        try:
            yield self._conn
        except BaseException:
            self._conn.execute("ROLLBACK")
            raise
        self._conn.execute("COMMIT")

    def ping(self) -> None:
        self._conn.execute("SELECT 1").fetchone()

    # -- orgs and keys ---------------------------------------------------------------------

    def put_org(self, org_id: str, keys: Iterable[str], *, replace_keys: bool = False) -> bool:
        """Create ``org_id`` (True) or add keys to it (False). Keys move if owned elsewhere."""
        stamp = now()
        with self.transaction() as conn:
            created = (
                conn.execute(
                    "INSERT INTO orgs (id, created_at) VALUES (?, ?) ON CONFLICT DO NOTHING",
                    (org_id, stamp),
                ).rowcount
                == 1
            )
            if replace_keys:
                conn.execute("DELETE FROM api_keys WHERE org_id = ?", (org_id,))
            for key in keys:
                conn.execute(
                    "INSERT INTO api_keys (key_hash, org_id, created_at) VALUES (?, ?, ?)"
                    " ON CONFLICT (key_hash) DO UPDATE SET org_id = excluded.org_id",
                    (hash_key(key), org_id, stamp),
                )
        return created

    def list_orgs(self, org_id: str | None = None) -> list[JsonObject]:
        """Orgs with their number of keys (only ``org_id`` if given)."""
        rows = self._conn.execute(
            "SELECT o.id, o.created_at, count(k.key_hash) AS keys FROM orgs o"
            " LEFT JOIN api_keys k ON k.org_id = o.id WHERE ? IS NULL OR o.id = ?"
            " GROUP BY o.id ORDER BY o.id",
            (org_id, org_id),
        ).fetchall()
        return [{"id": r["id"], "created_at": r["created_at"], "keys": r["keys"]} for r in rows]

    def org_for_key(self, api_key: str) -> str | None:
        row = self._conn.execute(
            "SELECT org_id FROM api_keys WHERE key_hash = ?", (hash_key(api_key),)
        ).fetchone()
        return None if row is None else str(row["org_id"])

    # -- accounts --------------------------------------------------------------------------

    def get_account(self, org_id: str, key: str) -> AccountRecord | None:
        row = self._conn.execute(
            "SELECT * FROM accounts WHERE org_id = ? AND external_key = ?", (org_id, key)
        ).fetchone()
        return None if row is None else account_record(row)

    def put_account(
        self,
        org_id: str,
        key: str,
        profile: JsonObject,
        active: bool | None,
        cond: Precondition = NO_PRECONDITION,
    ) -> tuple[AccountRecord, bool]:
        """Create or replace an account; returns ``(record, created)``."""
        with self.transaction() as conn:
            current = self.get_account(org_id, key)
            cond.check(None if current is None else current.version)
            email = _email_norm(profile)
            if email is not None:
                holder = conn.execute(
                    "SELECT external_key FROM accounts"
                    " WHERE org_id = ? AND email_norm = ? AND external_key != ?",
                    (org_id, email, key),
                ).fetchone()
                if holder is not None:
                    raise EmailTaken(str(profile["email"]), holder["external_key"])
            stamp = now()
            user_name = _user_name_norm(profile)
            if current is None:
                enabled = True if active is None else active
                conn.execute(
                    "INSERT INTO accounts (org_id, external_key, id, email_norm, user_name_norm,"
                    " enabled, profile, version, created_at, updated_at)"
                    " VALUES (?, ?, ?, ?, ?, ?, ?, 1, ?, ?)",
                    (
                        org_id,
                        key,
                        _new_id("acc"),
                        email,
                        user_name,
                        enabled,
                        _dump(profile),
                        stamp,
                        stamp,
                    ),
                )
                created = True
            else:
                enabled = current.enabled if active is None else active
                if profile == current.profile and enabled == current.enabled:
                    return current, False
                conn.execute(
                    "UPDATE accounts SET email_norm = ?, user_name_norm = ?, enabled = ?,"
                    " profile = ?, version = version + 1, updated_at = ?"
                    " WHERE org_id = ? AND external_key = ?",
                    (email, user_name, enabled, _dump(profile), stamp, org_id, key),
                )
                if not enabled:
                    _end_sessions(conn, current.id)
                created = False
            record = self.get_account(org_id, key)
        assert record is not None
        return record, created

    def set_enabled(
        self, org_id: str, key: str, enabled: bool, cond: Precondition = NO_PRECONDITION
    ) -> AccountRecord:
        with self.transaction() as conn:
            current = self.get_account(org_id, key)
            if current is None:
                raise NotFound("account", key)
            cond.check(current.version)
            if current.enabled == enabled:
                return current
            conn.execute(
                "UPDATE accounts SET enabled = ?, version = version + 1, updated_at = ?"
                " WHERE org_id = ? AND external_key = ?",
                (enabled, now(), org_id, key),
            )
            if not enabled:
                _end_sessions(conn, current.id)
            record = self.get_account(org_id, key)
        assert record is not None
        return record

    def delete_account(self, org_id: str, key: str, cond: Precondition = NO_PRECONDITION) -> None:
        with self.transaction() as conn:
            current = self.get_account(org_id, key)
            if current is None:
                raise NotFound("account", key)
            cond.check(current.version)
            # Its sign-in identity and sessions go with it (ON DELETE CASCADE).
            conn.execute(
                "DELETE FROM accounts WHERE org_id = ? AND external_key = ?", (org_id, key)
            )

    def list_accounts(self, org_id: str, after: str | None, limit: int) -> Page[AccountRecord]:
        rows = self._page("accounts", "external_key", org_id, after, limit)
        return _paged([account_record(r) for r in rows], limit, lambda a: a.external_key)

    # -- groups ----------------------------------------------------------------------------

    def get_group(self, org_id: str, key: str) -> GroupRecord | None:
        row = self._conn.execute(
            "SELECT * FROM account_groups WHERE org_id = ? AND external_key = ?", (org_id, key)
        ).fetchone()
        return None if row is None else group_record(row)

    def put_group(
        self,
        org_id: str,
        key: str,
        profile: JsonObject,
        cond: Precondition = NO_PRECONDITION,
    ) -> tuple[GroupRecord, bool]:
        with self.transaction() as conn:
            current = self.get_group(org_id, key)
            cond.check(None if current is None else current.version)
            stamp = now()
            if current is None:
                conn.execute(
                    "INSERT INTO account_groups (org_id, external_key, id, profile, version,"
                    " created_at, updated_at) VALUES (?, ?, ?, ?, 1, ?, ?)",
                    (org_id, key, _new_id("grp"), _dump(profile), stamp, stamp),
                )
            elif profile == current.profile:
                return current, False
            else:
                conn.execute(
                    "UPDATE account_groups SET profile = ?, version = version + 1,"
                    " updated_at = ? WHERE org_id = ? AND external_key = ?",
                    (_dump(profile), stamp, org_id, key),
                )
            record = self.get_group(org_id, key)
        assert record is not None
        return record, current is None

    def delete_group(self, org_id: str, key: str, cond: Precondition = NO_PRECONDITION) -> None:
        with self.transaction() as conn:
            current = self.get_group(org_id, key)
            if current is None:
                raise NotFound("group", key)
            cond.check(current.version)
            conn.execute(
                "DELETE FROM account_groups WHERE org_id = ? AND external_key = ?",
                (org_id, key),
            )

    def list_groups(self, org_id: str, after: str | None, limit: int) -> Page[GroupRecord]:
        rows = self._page("account_groups", "external_key", org_id, after, limit)
        return _paged([group_record(r) for r in rows], limit, lambda g: g.external_key)

    # -- membership ------------------------------------------------------------------------

    def change_members(
        self, org_id: str, group_key: str, add: list[str], remove: list[str]
    ) -> BatchResult:
        """Apply one membership batch atomically. Unknown account keys are reported."""
        with self.transaction() as conn:
            if self.get_group(org_id, group_key) is None:
                raise NotFound("group", group_key)
            wanted = list(dict.fromkeys([*add, *remove]))
            known: set[str] = set()
            for chunk in _chunks(wanted, 500):
                marks = ",".join("?" * len(chunk))
                known.update(
                    row["external_key"]
                    for row in conn.execute(
                        f"SELECT external_key FROM accounts WHERE org_id = ?"  # noqa: S608
                        f" AND external_key IN ({marks})",
                        (org_id, *chunk),
                    )
                )
            stamp = now()
            added = removed = 0
            for key in dict.fromkeys(add):
                if key in known:
                    added += conn.execute(
                        "INSERT INTO group_members (org_id, group_key, account_key, added_at)"
                        " VALUES (?, ?, ?, ?) ON CONFLICT DO NOTHING",
                        (org_id, group_key, key, stamp),
                    ).rowcount
            for key in dict.fromkeys(remove):
                if key in known:
                    removed += conn.execute(
                        "DELETE FROM group_members"
                        " WHERE org_id = ? AND group_key = ? AND account_key = ?",
                        (org_id, group_key, key),
                    ).rowcount
        return BatchResult(added, removed, [k for k in wanted if k not in known])

    def list_members(
        self, org_id: str, group_key: str, after: str | None, limit: int
    ) -> Page[MemberRecord]:
        if self.get_group(org_id, group_key) is None:
            raise NotFound("group", group_key)
        rows = self._conn.execute(
            "SELECT account_key, added_at FROM group_members"
            " WHERE org_id = ? AND group_key = ? AND account_key > ?"
            " ORDER BY account_key LIMIT ?",
            (org_id, group_key, after or "", limit + 1),
        ).fetchall()
        items = [MemberRecord(r["account_key"], r["added_at"]) for r in rows]
        return _paged(items, limit, lambda m: m.account_key)

    # -- helpers ---------------------------------------------------------------------------

    def _page(
        self, table: str, column: str, org_id: str, after: str | None, limit: int
    ) -> list[sqlite3.Row]:
        # Keyset pagination: stable under concurrent writes, no OFFSET drift.
        return self._conn.execute(
            f"SELECT * FROM {table} WHERE org_id = ? AND {column} > ?"  # noqa: S608
            f" ORDER BY {column} LIMIT ?",
            (org_id, after or "", limit + 1),
        ).fetchall()


def account_record(row: sqlite3.Row) -> AccountRecord:
    return AccountRecord(
        id=row["id"],
        external_key=row["external_key"],
        profile=orjson.loads(row["profile"]),
        enabled=bool(row["enabled"]),
        version=row["version"],
        created_at=row["created_at"],
        updated_at=row["updated_at"],
    )


def group_record(row: sqlite3.Row) -> GroupRecord:
    return GroupRecord(
        id=row["id"],
        external_key=row["external_key"],
        profile=orjson.loads(row["profile"]),
        version=row["version"],
        created_at=row["created_at"],
        updated_at=row["updated_at"],
    )


def _paged(items: list[T], limit: int, sort_key: Callable[[T], str]) -> Page[T]:
    if len(items) > limit:
        items = items[:limit]
        return Page(items, sort_key(items[-1]))
    return Page(items, None)


def _chunks(items: list[str], size: int) -> Iterator[list[str]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


# --- the async facade ---------------------------------------------------------------------


class Database:
    """Runs :class:`Store` calls on one worker thread that owns the connection."""

    def __init__(self, executor: ThreadPoolExecutor, store: Store) -> None:
        self._executor = executor
        self._store = store

    @classmethod
    async def open(cls, path: str | Path) -> Database:
        executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="zero-accounts-db")
        loop = asyncio.get_running_loop()
        try:
            store = await loop.run_in_executor(executor, Store.open, path)
        except BaseException:
            executor.shutdown(wait=True)
            raise
        return cls(executor, store)

    async def run(self, fn: Callable[[Store], T]) -> T:
        """Run ``fn(store)`` on the database thread and return its result."""
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._executor, fn, self._store)

    async def close(self) -> None:
        await self.run(Store.close)
        self._executor.shutdown(wait=True)
