"""apprise json:// webhooks against a real HTTP server on loopback."""

from __future__ import annotations

import asyncio
import json
import logging
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from pydantic import SecretStr

from hookd.bus import Bus
from hookd.config.model import AppriseRoute, DeliverySettings, Model, Settings
from hookd.events import Transition
from hookd.subscribers.apprise import AppriseSubscriber
from tests.unit.subscriber_helpers import audit, until


class Hook:
    """A webhook receiver answering with scripted status codes (then 200)."""

    def __init__(self) -> None:
        self.codes: list[int] = []
        self.posts: list[dict[str, Any]] = []
        self.hits = 0
        hook = self

        class H(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                n = int(self.headers.get("Content-Length", 0))
                data = self.rfile.read(n)
                hook.hits += 1
                code = hook.codes.pop(0) if hook.codes else 200
                if code == 200:
                    hook.posts.append(json.loads(data))
                self.send_response(code)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), H)
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def url(self, secret: str = "s3cret") -> str:
        return f"json://user:{secret}@127.0.0.1:{self.port}/hook"


@pytest.fixture
def hook() -> Iterator[Hook]:
    h = Hook()
    h.thread.start()
    yield h
    h.server.shutdown()
    h.server.server_close()


def model(*routes: AppriseRoute) -> Model:
    return Model(
        settings=Settings(
            apprise=list(routes),
            delivery=DeliverySettings(initial_backoff=0.05, max_backoff=0.1, jitter=0.1),
        )
    )


def tr(to: str = "MASTER", instance: str = "VI_1") -> Transition:
    return Transition(
        instance=instance,
        from_state="BACKUP",
        to_state=to,
        priority=101,
        base_priority=100,
        reason="higher priority 101 from 10.0.0.1",
    )


async def test_webhook_gets_event_json_with_filters(tmp_path: Path, hook: Hook) -> None:
    routes = (AppriseRoute(urls=[SecretStr(hook.url())], instances=["VI_1"], states=["MASTER"]),)
    bus = Bus(model(*routes), tmp_path)
    names = list(bus.subscribers)
    assert names[0] == "audit" and names[1].startswith("apprise:")
    await bus.start()
    e = tr("MASTER")
    bus.publish(tr("BACKUP"))  # filtered out by state
    bus.publish(tr("MASTER", instance="VI_2"))  # filtered out by instance
    bus.publish(e)
    await until(lambda: len(hook.posts) == 1)
    await bus.stop()
    post = hook.posts[0]
    assert post["title"] == "[hookd] VRRP Instance VI_1 - Entering MASTER state"
    assert json.loads(post["message"]) == e.to_dict()
    assert post["type"] == "success"


async def test_500_twice_then_200_delivered_once(
    tmp_path: Path, hook: Hook, caplog: pytest.LogCaptureFixture
) -> None:
    hook.codes = [500, 500]
    bus = Bus(model(AppriseRoute(urls=[SecretStr(hook.url("topsecret"))])), tmp_path)
    await bus.start()
    with caplog.at_level(logging.INFO):
        bus.publish(tr())
        await until(lambda: len(hook.posts) == 1)
        await until(lambda: any(d.get("status") == "delivered" for d in audit(tmp_path)))
        await asyncio.sleep(0.3)
        await bus.stop()
    assert hook.hits == 3 and len(hook.posts) == 1
    recs = [d for d in audit(tmp_path) if d["kind"] == "delivery"]
    assert [d["status"] for d in recs] == ["retry", "retry", "delivered"]
    # the URL's secret never appears in the audit log nor in our logs
    assert "topsecret" not in (tmp_path / "audit.jsonl").read_text()
    assert "topsecret" not in caplog.text


async def test_404_is_dead_and_recorded(tmp_path: Path, hook: Hook) -> None:
    hook.codes = [404]
    bus = Bus(model(AppriseRoute(urls=[SecretStr(hook.url())])), tmp_path)
    await bus.start()
    bus.publish(tr())
    await until(lambda: any(d.get("status") == "dead" for d in audit(tmp_path)))
    await asyncio.sleep(0.2)
    await bus.stop()
    assert hook.hits == 1
    dead = next(d for d in audit(tmp_path) if d.get("status") == "dead")
    assert "404" in dead["detail"] and "s3cret" not in dead["detail"]


async def test_429_is_transient(tmp_path: Path, hook: Hook) -> None:
    hook.codes = [429]
    bus = Bus(model(AppriseRoute(urls=[SecretStr(hook.url())])), tmp_path)
    await bus.start()
    bus.publish(tr())
    await until(lambda: len(hook.posts) == 1)
    await bus.stop()
    assert hook.hits == 2


def test_name_hides_the_url() -> None:
    url = "json://user:pw@127.0.0.1:9/x"
    sub = AppriseSubscriber(model(), url, AppriseRoute(urls=[SecretStr(url)]))
    assert "pw" not in sub.name and "pw@" not in repr(sub)
