"""The one-node cluster's DNS: ``<service>.<namespace>.svc.<domain>`` and nothing else.

A stand-in for CoreDNS (which Debian does not package and no registry can deliver here):
a host process serving UDP and TCP on the bridge address, answering A queries for
Services from the API server (the ClusterIP, or the ready endpoint addresses of a
headless Service), refreshed every second. Every other name gets NXDOMAIN: nothing is
forwarded, so Pods resolve cluster names only.

Run by the node as ``python -m zero_scim_dev.cluster.dns`` with ``ZS_DNS_API``,
``ZS_DNS_TOKEN`` (a read-only identity: list Services and Endpoints), ``ZS_DNS_CA`` and
``ZS_DNS_ADDRESS`` (``host:port``) in its environment.
"""

from __future__ import annotations

import json
import os
import signal
import ssl
import sys
import threading
import time
import urllib.request
from typing import Any

from dnslib import QTYPE, RCODE, RR, A, DNSRecord
from dnslib.server import BaseResolver, DNSHandler, DNSLogger, DNSServer

DOMAIN = "cluster.local"
REFRESH_SECONDS = 1.0
TTL = 5


class ServiceRecords:
    """Name -> addresses, replaced whole at each refresh (readers never see half a map)."""

    def __init__(self, api: str, token: str, ca: str, domain: str = DOMAIN) -> None:
        self._api = api.rstrip("/")
        self._token = token
        self._context = ssl.create_default_context(cafile=ca)
        self._domain = domain
        self.records: dict[str, list[str]] = {}
        self.synced = threading.Event()

    def _get(self, path: str) -> dict[str, Any]:
        request = urllib.request.Request(
            self._api + path, headers={"Authorization": f"Bearer {self._token}"}
        )
        with urllib.request.urlopen(request, context=self._context, timeout=5) as response:
            data: dict[str, Any] = json.loads(response.read())
            return data

    def refresh(self) -> None:
        endpoints = {
            (e["metadata"]["namespace"], e["metadata"]["name"]): e
            for e in self._get("/api/v1/endpoints")["items"]
        }
        records: dict[str, list[str]] = {}
        for service in self._get("/api/v1/services")["items"]:
            key = (service["metadata"]["namespace"], service["metadata"]["name"])
            ip = service["spec"].get("clusterIP")
            if ip and ip != "None":
                addresses = [ip]
            else:
                subsets = endpoints.get(key, {}).get("subsets") or []
                addresses = [a["ip"] for s in subsets for a in s.get("addresses") or []]
            records[f"{key[1]}.{key[0]}.svc.{self._domain}."] = addresses
        self.records = records
        self.synced.set()

    def run(self, stop: threading.Event) -> None:
        while not stop.is_set():
            try:
                self.refresh()
            except (OSError, ValueError, KeyError) as exc:
                print(f"zero-scim dns: refresh failed: {exc}", file=sys.stderr, flush=True)
            stop.wait(REFRESH_SECONDS)


class Resolver(BaseResolver):  # type: ignore[misc]
    def __init__(self, records: ServiceRecords) -> None:
        self._records = records

    def resolve(self, request: DNSRecord, handler: DNSHandler) -> DNSRecord:
        reply = request.reply()
        addresses = self._records.records.get(str(request.q.qname).lower())
        if addresses is None:
            reply.header.rcode = RCODE.NXDOMAIN
        elif request.q.qtype in (QTYPE.A, QTYPE.ANY):
            for address in addresses:
                reply.add_answer(RR(request.q.qname, QTYPE.A, rdata=A(address), ttl=TTL))
        return reply


def main() -> int:
    env = os.environ
    host, _, port = env["ZS_DNS_ADDRESS"].rpartition(":")
    records = ServiceRecords(env["ZS_DNS_API"], env["ZS_DNS_TOKEN"], env["ZS_DNS_CA"])
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    threading.Thread(target=records.run, args=(stop,), daemon=True).start()
    logger = DNSLogger("-request,-reply,-truncated,-recv,-send,-data")
    servers = [
        DNSServer(Resolver(records), address=host, port=int(port), tcp=tcp, logger=logger)
        for tcp in (False, True)
    ]
    for server in servers:
        server.start_thread()
    print(f"zero-scim dns: serving {host}:{port}", file=sys.stderr, flush=True)
    while not stop.wait(3600):
        pass
    for server in servers:
        server.stop()
    time.sleep(0.1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
