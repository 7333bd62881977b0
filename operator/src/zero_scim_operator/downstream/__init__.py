"""Client for Zero's downstream account service (contract: docs/zero-accounts-api.md).

The operator talks to Zero only through :class:`ZeroAccountsClient`; failures are the
``DownstreamError`` tree of :mod:`.errors` (transient, rate-limited, permanent, conflict).
"""

from zero_scim_operator.downstream.client import ZeroAccountsClient, parse_retry_after
from zero_scim_operator.downstream.errors import (
    ConflictError,
    DownstreamError,
    PermanentError,
    RateLimited,
    TransientError,
)
from zero_scim_operator.downstream.models import (
    MAX_BATCH,
    MAX_PAGE,
    Account,
    AccountInput,
    Group,
    GroupInput,
    MembershipChange,
    SsoConfig,
    SsoInput,
    Upserted,
    check_external_key,
)

__all__ = [
    "MAX_BATCH",
    "MAX_PAGE",
    "Account",
    "AccountInput",
    "ConflictError",
    "DownstreamError",
    "Group",
    "GroupInput",
    "MembershipChange",
    "PermanentError",
    "RateLimited",
    "SsoConfig",
    "SsoInput",
    "TransientError",
    "Upserted",
    "ZeroAccountsClient",
    "check_external_key",
    "parse_retry_after",
]
