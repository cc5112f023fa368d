"""A real Matrix Synapse homeserver for the connector tests.

``synapse_server`` (session-scoped) writes a config into a temp dir, starts Synapse as a
subprocess on a free 127.0.0.1 port (SQLite, ``client`` listener only, no federation key servers,
rate limits raised, cheap bcrypt) and stops it at the end of the session. An application service
is registered so tests can seed history with backdated timestamps (``?ts=``) while masquerading
as ordinary users (``?user_id=``); users are created through the admin shared-secret API.

Import it from a test module (``from tests.synapse import synapse_server``) or a conftest.
"""

from __future__ import annotations

import hashlib
import hmac
import importlib.util
import json
import os
import secrets
import socket
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx
import pytest

from tests import clockshift

PROJECT_ROOT = str(Path(__file__).resolve().parents[1])

SERVER_NAME = "localhost"
# Ready in 3–5 s on an idle machine; the 2 shared cores under a parallel test load need far more.
STARTUP_TIMEOUT_S = 120.0
_GENEROUS = {"per_second": 10_000, "burst_count": 10_000}


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class MatrixUser:
    user_id: str
    access_token: str


@dataclass
class SynapseServer:
    """A running homeserver: its base URL and helpers to make users and seed history."""

    base_url: str
    shared_secret: str
    as_token: str
    log_path: Path
    _txn: int = field(default=0, repr=False)

    def client(self, token: str | None = None) -> httpx.Client:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        return httpx.Client(base_url=self.base_url, headers=headers, timeout=30.0)

    def register(self, localpart: str, *, admin: bool = False) -> MatrixUser:
        """Create a user through the admin shared-secret registration API."""
        with self.client() as http:
            nonce = http.get("/_synapse/admin/v1/register").json()["nonce"]
            password = secrets.token_hex(8)
            role = "admin" if admin else "notadmin"
            # HMAC-SHA1 over nonce, user, password and role joined by NUL bytes.
            message = b"\x00".join(p.encode() for p in (nonce, localpart, password, role))
            mac = hmac.new(self.shared_secret.encode(), message, hashlib.sha1).hexdigest()
            body = {
                "nonce": nonce,
                "username": localpart,
                "password": password,
                "admin": admin,
                "mac": mac,
            }
            resp = http.post("/_synapse/admin/v1/register", json=body)
            resp.raise_for_status()
            data = resp.json()
        return MatrixUser(data["user_id"], data["access_token"])

    def as_request(
        self,
        method: str,
        path: str,
        *,
        user_id: str,
        ts_ms: int | None = None,
        json_body: dict[str, Any] | None = None,
    ) -> dict[str, Any]:
        """A client-server request made by the application service as ``user_id``, with an
        optional backdated origin timestamp."""
        params: dict[str, str] = {"user_id": user_id}
        if ts_ms is not None:
            params["ts"] = str(ts_ms)
        with self.client(self.as_token) as http:
            resp = http.request(method, path, params=params, json=json_body or {})
            resp.raise_for_status()
            result: dict[str, Any] = resp.json()
            return result

    def send_as(
        self, room_id: str, user_id: str, content: dict[str, Any], *, ts_ms: int | None = None
    ) -> str:
        """Post ``content`` (an ``m.room.message``) as ``user_id`` at ``ts_ms``; its event id."""
        self._txn += 1
        path = (
            f"/_matrix/client/v3/rooms/{quote(room_id, safe='')}/send/m.room.message/"
            f"seed{self._txn}-{secrets.token_hex(4)}"
        )
        return str(
            self.as_request("PUT", path, user_id=user_id, ts_ms=ts_ms, json_body=content)[
                "event_id"
            ]
        )

    def join_as(self, room_id: str, user_id: str, *, ts_ms: int | None = None) -> None:
        path = f"/_matrix/client/v3/rooms/{quote(room_id, safe='')}/join"
        self.as_request("POST", path, user_id=user_id, ts_ms=ts_ms)


def _config(root: Path, port: int, shared_secret: str, as_token: str) -> dict[str, Any]:
    registration = root / "appservice.yaml"
    registration.write_text(
        json.dumps(
            {
                "id": "groupops-seeder",
                "url": None,
                "as_token": as_token,
                "hs_token": secrets.token_hex(16),
                "sender_localpart": "seeder",
                "rate_limited": False,
                "namespaces": {
                    "users": [{"exclusive": False, "regex": f"@.*:{SERVER_NAME}"}],
                    "aliases": [],
                    "rooms": [],
                },
            }
        )
    )
    limits = {
        "rc_message": _GENEROUS,
        "rc_registration": _GENEROUS,
        "rc_registration_token_validity": _GENEROUS,
        "rc_login": {"address": _GENEROUS, "account": _GENEROUS, "failed_attempts": _GENEROUS},
        "rc_admin_redaction": _GENEROUS,
        "rc_joins": {"local": _GENEROUS, "remote": _GENEROUS},
        "rc_joins_per_room": _GENEROUS,
        "rc_invites": {"per_room": _GENEROUS, "per_user": _GENEROUS, "per_issuer": _GENEROUS},
        "rc_3pid_validation": _GENEROUS,
        "rc_presence": {"per_user": _GENEROUS},
        "rc_delayed_event_mgmt": _GENEROUS,
        "rc_room_creation": _GENEROUS,
        "rc_reports": _GENEROUS,
    }
    return {
        "server_name": SERVER_NAME,
        "pid_file": str(root / "homeserver.pid"),
        "public_baseurl": f"http://127.0.0.1:{port}/",
        "listeners": [
            {
                "port": port,
                "bind_addresses": ["127.0.0.1"],
                "type": "http",
                "tls": False,
                "x_forwarded": False,
                "resources": [{"names": ["client"], "compress": False}],
            }
        ],
        "database": {"name": "sqlite3", "args": {"database": str(root / "homeserver.db")}},
        "media_store_path": str(root / "media"),
        "signing_key_path": str(root / "signing.key"),
        "registration_shared_secret": shared_secret,
        "macaroon_secret_key": secrets.token_hex(16),
        "form_secret": secrets.token_hex(16),
        "report_stats": False,
        "enable_metrics": False,
        "trusted_key_servers": [],
        "suppress_key_server_warning": True,
        "bcrypt_rounds": 4,
        "app_service_config_files": [str(registration)],
        "presence": {"enabled": False},
        "url_preview_enabled": False,
        **limits,
    }


def _write_signing_key(path: Path) -> None:
    from signedjson.key import generate_signing_key, write_signing_keys

    with path.open("w") as fh:
        write_signing_keys(fh, [generate_signing_key("a_groupops")])


def _wait_ready(base_url: str, proc: subprocess.Popen[bytes], log_path: Path) -> None:
    deadline = time.monotonic() + STARTUP_TIMEOUT_S
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(
                f"synapse exited with {proc.returncode}:\n{log_path.read_text()[-4000:]}"
            )
        try:
            if httpx.get(f"{base_url}/_matrix/client/versions", timeout=1.0).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.2)
    raise RuntimeError(
        f"synapse not ready after {STARTUP_TIMEOUT_S:.0f} s:\n{log_path.read_text()[-4000:]}"
    )


@pytest.fixture(scope="session")
def synapse_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SynapseServer]:
    """A running Synapse on 127.0.0.1 for the whole test session."""
    if importlib.util.find_spec("synapse") is None:
        pytest.skip("matrix-synapse is not installed (uv sync --group synapse)")
    root = tmp_path_factory.mktemp("synapse")
    port = _free_port()
    shared_secret = secrets.token_hex(16)
    as_token = secrets.token_hex(16)
    config_path = root / "homeserver.yaml"
    config_path.write_text(json.dumps(_config(root, port, shared_secret, as_token), indent=1))
    _write_signing_key(root / "signing.key")
    log_path = root / "synapse.log"
    base_url = f"http://127.0.0.1:{port}"
    with log_path.open("wb") as log:
        proc = subprocess.Popen(
            clockshift.command("synapse.app.homeserver", "-c", str(config_path)),
            cwd=root,
            stdout=log,
            stderr=subprocess.STDOUT,
            env={**os.environ, "SYNAPSE_CACHE_FACTOR": "0.5", "PYTHONPATH": PROJECT_ROOT},
        )
        try:
            _wait_ready(base_url, proc, log_path)
            yield SynapseServer(base_url, shared_secret, as_token, log_path)
        finally:
            proc.terminate()
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
