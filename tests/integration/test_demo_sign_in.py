"""`reroute demo` prints two sign-ins that work: the associate finds work in each list of its
store and can report an issue; the admin lands on the admin pages."""

from __future__ import annotations

import io
import re
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from rich.console import Console

from reroute.app import create_app
from reroute.demo import build_demo, sign_in_lines
from reroute.services.context import Context
from reroute.storage.database import Database
from reroute.storage.migrate import upgrade
from tests.pages_support import cheap_hashes, post_form, sign_in, text_of

pytestmark = pytest.mark.usefixtures(cheap_hashes.__name__)
SIGN_IN = re.compile(r"(\S+@example\.com)\s+password (\S+)")


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Context, list[str]]]:
    """One demo for the module: it takes seconds to build."""
    path = tmp_path_factory.mktemp("demo") / "demo.db"
    context = Context(db=Database(f"sqlite:///{path}"))
    upgrade(context.db)
    lines = build_demo(context, Console(file=io.StringIO()))
    yield context, lines
    context.db.dispose()


def test_the_printed_associate_signs_in_and_reports_an_issue_in_its_store(
    demo: tuple[Context, list[str]],
) -> None:
    context, lines = demo
    printed = "\n".join(lines)
    assert "Sign in at http://127.0.0.1:8000/login" in printed
    (associate, associate_password), (admin, admin_password) = SIGN_IN.findall(printed)
    with TestClient(create_app(context)) as client:
        landed = sign_in(client, associate, associate_password)
        words = text_of(landed)
        assert landed.url.path.endswith("/open")
        store_name = re.search(r"store associate at (.+?):", printed)
        assert store_name is not None and store_name.group(1) in words
        assert re.search(r"In progress [1-9]", words) and re.search(r"Completed [1-9]", words)

        in_progress = client.get(landed.url.path.replace("/open", "/in-progress"))
        link = re.search(r'href="([^"]*/report\?back=[^"]*)"', in_progress.text)
        assert link is not None
        form = client.get(link.group(1).replace("&amp;", "&"))
        confirm = re.search(r'action="([^"]+/confirm)"', form.text)
        assert confirm is not None
        shown = post_form(client, form, confirm.group(1), reason_id="DAMAGED")
        action = confirm.group(1).removesuffix("/confirm")
        done = post_form(client, shown, action, reason_id="DAMAGED", back=in_progress.url.path)
        assert "it has left this store" in text_of(done)

        client.cookies.clear()
        assert sign_in(client, admin, admin_password).url.path == "/admin/orders"


def test_keeping_the_demo_gives_its_people_new_passwords(
    demo: tuple[Context, list[str]],
) -> None:
    context, lines = demo
    first = dict(SIGN_IN.findall("\n".join(lines)))
    again = dict(SIGN_IN.findall("\n".join(sign_in_lines(context))))
    assert first.keys() == again.keys() and all(first[k] != again[k] for k in first)
    with TestClient(create_app(context)) as client:
        for email, password in again.items():
            client.cookies.clear()
            assert sign_in(client, email, password).url.path != "/login"
