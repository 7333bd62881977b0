"""``zero-scim dev --pods``: the main job as the chart's Pods. Its printed URL and token
provision a user into Zero through the Pods; the printed sign-in works through the
accounts Pod (where Node.js and the identity provider's packages are present, as
``./scripts/test`` installs them); SIGTERM uninstalls, stops the node and leaves the host
as it was.

Runs before the other Pod tests (file order), while no node runs: one node per machine.
"""

from __future__ import annotations

import os
import signal
import ssl
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx
import pytest
from kubernetes import client, config

from tests.pods.support import host_differences, secret_value, user_body
from tests.support.idp import Browser, User
from tests.support.scim import deactivate
from zero_scim_dev import sso
from zero_scim_dev.cluster import hoststate
from zero_scim_dev.cluster.node import NodeCluster

pytestmark = [
    pytest.mark.timeout(900),
    pytest.mark.skipif(
        bool(os.environ.get("KUBECONFIG")),
        reason="zero-scim dev --pods runs its own one-node cluster; the session uses $KUBECONFIG",
    ),
]

READY_TIMEOUT = 600.0


def test_dev_pods_provisions_a_user_through_the_charts_pods(tmp_path: Path) -> None:
    data_dir = tmp_path / "node"
    before = hoststate.record()
    stderr = (tmp_path / "dev.log").open("w")
    process = subprocess.Popen(
        [sys.executable, "-m", "zero_scim.cli", "dev", "--pods", "--data-dir", str(data_dir),
         "--timeout", "300"],
        stdout=subprocess.PIPE, stderr=stderr, stdin=subprocess.DEVNULL, text=True,
        env={k: v for k, v in os.environ.items() if k != "KUBECONFIG"},
    )  # fmt: skip
    printed: dict[str, str] = {}
    ready = threading.Event()

    def pump() -> None:
        assert process.stdout is not None
        for line in process.stdout:
            name, sep, value = line.partition("=")
            if sep and name.isupper() and name not in printed:
                printed[name] = value.split()[0] if value.split() else ""
            if line.startswith("Ready in"):
                ready.set()
        ready.set()

    reader = threading.Thread(target=pump, daemon=True)
    reader.start()
    try:
        assert ready.wait(READY_TIMEOUT) and process.poll() is None, (
            tmp_path / "dev.log"
        ).read_text()[-3000:]
        base_url, token = printed["SCIM_BASE_URL"], printed["SCIM_TOKEN"]
        assert base_url.endswith("/scim/v2") and token
        with httpx.Client(timeout=30) as http:
            created = http.post(
                f"{base_url}/Users",
                headers={"Authorization": f"Bearer {token}"},
                json=user_body("ada@example.com"),
            )
            assert created.status_code == 201, created.text
            user_id = created.json()["id"]
            # Zero's account service runs as a Pod too; its API key is in the release.
            api = config.new_client_from_config(config_file=printed["KUBECONFIG"])
            try:
                api_key = secret_value(
                    client.CoreV1Api(api), "zero-scim", "zero-scim-accounts", "apiKey"
                )
            finally:
                api.close()
            url = f"{printed['ZERO_ACCOUNTS_URL']}/v1/orgs/demo-org/accounts/{user_id}"
            zero = {"Authorization": f"Bearer {api_key}"}
            deadline = time.monotonic() + 60
            while (answer := http.get(url, headers=zero)).status_code != 200:
                assert time.monotonic() < deadline, f"no account in Zero: {answer.status_code}"
                time.sleep(0.3)
            assert answer.json()["userName"] == "ada@example.com"

        if sso.available() is None:  # Node.js and the provider's packages are here
            _sign_in_and_be_refused_once_disabled(printed, base_url, token)

        process.send_signal(signal.SIGTERM)
        assert process.wait(300) == 0
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
        reader.join(10)
        assert process.stdout is not None
        process.stdout.close()
        stderr.close()
        NodeCluster(data_dir).down(purge=True)  # only does something if the test failed early
    assert not NodeCluster(data_dir).status().get("ready")
    changed = host_differences(before, hoststate.record())
    assert not changed, f"zero-scim dev --pods left the host changed: {changed}"


def _sign_in_and_be_refused_once_disabled(
    printed: dict[str, str], base_url: str, token: str
) -> None:
    """The printed sign-in works through the accounts Pod (which reaches the provider on
    the node's bridge over https), and a SCIM ``active=false`` ends the session."""
    login_url, user = printed["SSO_LOGIN_URL"], printed["SSO_DEMO_USER"]
    zero_url = printed["ZERO_ACCOUNTS_URL"]
    assert login_url == f"{zero_url}/sso/start?org=demo-org"
    person = User(
        tenant=sso.DEMO_TENANT_ID, oid=sso.DEMO_OID, login=user,
        password=printed["SSO_DEMO_PASSWORD"], name="Demo Person", email=user,
    )  # fmt: skip
    trust = ssl.create_default_context(cafile=printed["SSO_CA_FILE"])
    with Browser(zero_url, verify=trust, timeout=30) as browser:
        authorize = browser.start("demo-org")
        assert authorize.startswith("https://10.244.0.1:"), authorize  # the bridge, over TLS
        callback = browser.get(browser.authenticate(authorize, person))
        assert callback.status_code == 303, callback.text[:500]
        page = browser.get("/me")
        assert page.status_code == 200 and "Demo Person" in page.text and user in page.text
        me = browser.me().json()
        assert me["userName"] == user
        assert me["identity"] == {"tenantId": sso.DEMO_TENANT_ID, "objectId": sso.DEMO_OID}

        deactivate(base_url, token, user)
        deadline = time.monotonic() + 60  # the operator Pod's sync lag, on a loaded machine
        while (me_now := browser.me()).status_code == 200:
            assert time.monotonic() < deadline, "the session outlived the SCIM deactivation"
            time.sleep(0.2)
        assert me_now.status_code == 401
