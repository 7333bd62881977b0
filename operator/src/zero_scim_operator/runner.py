"""``zero-scim operator``: run the Kopf operator.

One active replica (Deployment ``replicas: 1``, ``strategy: Recreate``): Kopf runs in
standalone mode (no peering objects). Correctness never depends on being alone — token
rotation is locked by the Secret's resourceVersion, downstream calls are idempotent —
only efficiency does (docs/operator.md, "One active replica").
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import os
import sys

import kopf

from zero_scim.kube.client import KubeClient
from zero_scim_operator.factory import Factory
from zero_scim_operator.handlers import build_registry
from zero_scim_operator.handlers.scope import Scope
from zero_scim_operator.settings import OperatorConfig, configure_kopf

DEFAULT_LIVENESS = "http://0.0.0.0:8080/healthz"
#: Connections of the operator's own client to the API server (Kopf has its own).
KUBE_POOL = 32
logger = logging.getLogger("zero_scim_operator")

#: The tuning flags: (option, OperatorConfig field, help).
TUNING = (
    ("--status-interval", "status_interval", "seconds between tenant status refreshes"),
    ("--probe-interval", "probe_interval", "seconds between downstream probes"),
    ("--retry-budget", "retry_budget", "seconds a handler waits for the downstream"),
    ("--backoff-base", "backoff_base", "first retry delay (seconds)"),
    ("--backoff-cap", "backoff_cap", "longest retry delay (seconds)"),
    ("--breaker-cap", "breaker_cap", "longest pause before a trial request (seconds)"),
    ("--member-wait", "member_wait", "seconds to wait for a member's account"),
    ("--watch-server-timeout", "watch_server_timeout", "seconds per watch request"),
    ("--watch-client-timeout", "watch_client_timeout", "hard limit per watch request"),
    ("--request-timeout", "request_timeout", "timeout of other API requests"),
)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "-n",
        "--namespace",
        action="append",
        default=[],
        metavar="NS",
        help="serve this namespace (repeatable; globs like 'team-*' and '!name' work); "
        "tenants are served if their namespace is; default: all namespaces",
    )
    parser.add_argument(
        "-A", "--all-namespaces", action="store_true", help="serve all namespaces (default)"
    )
    parser.add_argument(
        "--liveness",
        default=os.environ.get("ZERO_SCIM_OPERATOR_LIVENESS", DEFAULT_LIVENESS),
        metavar="URL",
        help=f"liveness endpoint (default {DEFAULT_LIVENESS}; 'off' to disable)",
    )
    parser.add_argument("--kubeconfig", help="kubeconfig file (default: in-cluster/$KUBECONFIG)")
    parser.add_argument(
        "--log-level", default=os.environ.get("ZERO_SCIM_OPERATOR_LOG_LEVEL", "info")
    )
    parser.add_argument(
        "--kopf-log-level",
        default="warning",
        help="level of Kopf's per-object log lines (default warning: one line per event "
        "costs CPU at 100 objects/s)",
    )
    defaults = OperatorConfig()
    tuning = parser.add_argument_group("tuning (defaults are the production values)")
    for option, field, help_text in TUNING:
        tuning.add_argument(
            option,
            dest=field,
            type=float,
            default=getattr(defaults, field),
            help=f"{help_text} (default {getattr(defaults, field)})",
        )


def config_from_args(args: argparse.Namespace) -> OperatorConfig:
    liveness = None if args.liveness in ("", "off", "none") else args.liveness
    namespaces = () if args.all_namespaces else tuple(args.namespace)
    tuning = {field: getattr(args, field) for _, field, _ in TUNING}  # argparse: floats
    return OperatorConfig(
        namespaces=namespaces, liveness=liveness, kubeconfig=args.kubeconfig, **tuning
    )


def run(args: argparse.Namespace) -> int:
    config = config_from_args(args)
    logging.basicConfig(
        level=args.log_level.upper(),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )
    logging.getLogger("kopf").setLevel(args.kopf_log_level.upper())
    for noisy in ("httpx", "httpcore", "aiohttp.access"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(operate(config))
    return 0


async def operate(
    config: OperatorConfig,
    *,
    stop_flag: asyncio.Event | None = None,
    ready_flag: asyncio.Event | None = None,
) -> None:
    """Run the operator until a signal (or ``stop_flag``)."""
    kube = await KubeClient.connect(
        config.kubeconfig, timeout=config.request_timeout, pool_limit=KUBE_POOL
    )
    factory = Factory(config, kube)
    try:
        # Kopf logs in with the same configuration (handlers/login.py).
        registry = build_registry(factory, Scope(config.namespaces))

        @kopf.on.cleanup(registry=registry)
        async def cleanup(**_: object) -> None:
            # Before Kopf's wait for "hung" tasks: our background tasks end here.
            await factory.close()

        settings = kopf.OperatorSettings()
        configure_kopf(settings, config)
        where = ", ".join(config.namespaces) if config.namespaces else "all namespaces"
        logger.info("zero-scim operator starting (%s)", where)
        await kopf.operator(
            registry=registry,
            settings=settings,
            clusterwide=config.clusterwide,
            namespaces=list(config.namespaces),
            standalone=True,
            liveness_endpoint=config.liveness,
            stop_flag=stop_flag,
            ready_flag=ready_flag,
        )
    finally:
        await factory.close()
        await kube.close()
        logger.debug("connections closed")
