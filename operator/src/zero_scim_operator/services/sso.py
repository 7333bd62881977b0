"""ZeroTenant ``spec.sso`` → the Zero org's single sign-on link (condition ``SsoSynced``).

The tenant loop calls :meth:`SsoService.reconcile` every round with the tenant's
downstream runtime (``None`` while Zero cannot be used). The link is written when what
the spec asks for differs from what was last applied to that downstream (spec change,
another org or base URL, a new API key), on the loop's full rounds (any change of the
tenant), and every ``RECHECK_INTERVAL`` to repair drift; failures are retried with
backoff (2 s doubling to 2 min). No ``spec.sso`` means no link: the org's is removed.

``SsoSynced`` is True when Zero has what the spec asks for (reason ``Applied``,
``Disabled`` or ``NotRequested``), False when Zero refused it or could not be reached,
Unknown while the downstream is not usable yet.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, replace

from zero_scim_operator import conditions
from zero_scim_operator.conditions import Condition
from zero_scim_operator.downstream import SsoInput
from zero_scim_operator.models import TenantConfig
from zero_scim_operator.services.downstream import TenantRuntime
from zero_scim_operator.services.failures import Backoff, DownstreamFailed

logger = logging.getLogger(__name__)

SSO_SYNCED = "SsoSynced"
#: Re-applied this often even when nothing changed (someone may have changed Zero).
RECHECK_INTERVAL = 300.0


@dataclass(frozen=True, slots=True)
class SsoRound:
    condition: Condition
    #: Seconds until the service wants to run again (a retry or the next re-check).
    wake_in: float

    @property
    def blocks_ready(self) -> bool:
        return self.condition.status == "False"


@dataclass(frozen=True, slots=True)
class _Outcome:
    """The last attempt for one tenant: what it applied (``key``), when, and how it went."""

    key: tuple[str, ...]
    condition: Condition
    at: float
    attempts: int = 0  # failures in a row
    retry_at: float = 0.0

    @property
    def failed(self) -> bool:
        return self.attempts > 0


class SsoService:
    def __init__(self) -> None:
        self._outcomes: dict[str, _Outcome] = {}  # by tenant uid
        self._backoff = Backoff(2.0, 120.0)

    def forget(self, tenant: TenantConfig) -> None:
        self._outcomes.pop(tenant.uid, None)

    async def reconcile(
        self, tenant: TenantConfig, runtime: TenantRuntime | None, *, full: bool, mono: float
    ) -> SsoRound:
        generation = tenant.generation
        if runtime is None:
            message = "waiting until Zero can be used"
            waiting = conditions.unknown(SSO_SYNCED, "WaitingForDownstream", message, generation)
            return SsoRound(waiting, RECHECK_INTERVAL)
        spec = tenant.spec.sso if tenant.spec is not None else None
        desired = (
            None
            if spec is None
            else SsoInput(entra_tenant_id=spec.entra_tenant_id.lower(), enabled=spec.enabled)
        )
        key = (runtime.fingerprint, repr(desired))
        last = self._outcomes.get(tenant.uid)
        if last is not None and last.key == key and not full:
            if last.failed and mono < last.retry_at:
                return SsoRound(_at(last.condition, generation), last.retry_at - mono)
            if not last.failed and mono - last.at < RECHECK_INTERVAL:
                return SsoRound(_at(last.condition, generation), last.at + RECHECK_INTERVAL - mono)
        try:
            # One short try per round (like the reachability probe): the tenant loop waits
            # for it, and a failure is retried by the next round, with backoff.
            budget = float(runtime.spec.timeout_seconds) + 1.0
            await runtime.call(lambda zero: zero.put_sso(desired), budget=budget)
        except DownstreamFailed as failed:
            attempts = (last.attempts if last is not None and last.key == key else 0) + 1
            delay = self._backoff.delay(attempts)
            message = f"cannot apply spec.sso to Zero: {failed.verdict.message}"
            reason = failed.verdict.tenant_reason
            condition = conditions.false(SSO_SYNCED, reason, message, generation)
            logger.warning("tenant %s: %s", tenant.name, message)
            self._outcomes[tenant.uid] = _Outcome(key, condition, mono, attempts, mono + delay)
            return SsoRound(condition, delay)
        condition = _applied(desired, runtime.spec.org_id, generation)
        self._outcomes[tenant.uid] = _Outcome(key, condition, mono)
        return SsoRound(condition, RECHECK_INTERVAL)


def _applied(desired: SsoInput | None, org: str, generation: int) -> Condition:
    if desired is None:
        message = f"no spec.sso: nobody signs in to Zero org {org} with Entra"
        return conditions.true(SSO_SYNCED, "NotRequested", message, generation)
    tenant = desired.entra_tenant_id
    if desired.enabled:
        message = f"people of Entra tenant {tenant} sign in to Zero org {org}"
        return conditions.true(SSO_SYNCED, "Applied", message, generation)
    message = f"Zero org {org} links Entra tenant {tenant}; sign-in is disabled"
    return conditions.true(SSO_SYNCED, "Disabled", message, generation)


def _at(condition: Condition, generation: int) -> Condition:
    return replace(condition, observed_generation=generation)
