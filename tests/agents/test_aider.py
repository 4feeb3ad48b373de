"""Aider (PyPI ``aider-chat``, its own venv) edits a file through the gateway (issue 18).

Aider declares no tools: the model's answer carries the edit in a text format Aider parses. The
fake plays it (tests/e2e/fakes/script.py ``aider_plan``, route ``chat/aider-<format>``): ``whole``
(Aider's format for a model it does not know: the file name, then the whole new content fenced)
replaces the file; ``diff`` (a SEARCH/REPLACE block with an empty SEARCH part) appends to it.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.agents.clients import Aider
from tests.agents.tap import ClientTap
from tests.e2e.conftest import KEY, Env
from tests.e2e.fakes.script import AGENT_DONE, agent_prompt

pytestmark = [pytest.mark.agents, pytest.mark.timeout(300), pytest.mark.usefixtures("aider_installed")]

CONTENT = "hi from fake"
ORIGINAL = "old content\n"
# edit format -> (route scenario, the file after the edit)
FORMATS = {
    "whole": ("aider-whole", CONTENT + "\n"),
    "diff": ("aider-diff", ORIGINAL + CONTENT + "\n"),  # an empty SEARCH part appends
}


@pytest.mark.parametrize("edit_format", list(FORMATS))
def test_aider_edits_a_file(env: Env, tap: ClientTap, tmp_path: Path, edit_format: str) -> None:
    """Aider sends the file and the request as Chat Completions through the gateway, applies the
    edit from the fake model's answer and prints that answer; nothing is refused on the way."""
    scenario, expected = FORMATS[edit_format]
    tap.clear()
    workdir = tmp_path / "work"
    workdir.mkdir()
    target = workdir / "hello.txt"
    target.write_text(ORIGINAL)
    model = env.model("openai-chat", scenario)
    # "whole" is what Aider picks for an unknown model by itself: no --edit-format then
    client = Aider(edit_format=None if edit_format == "whole" else edit_format)
    res = client.run(tap.base_url, KEY, model, workdir, agent_prompt(str(target), CONTENT))
    upstream = list(env.fake("openai-chat").requests)
    print(
        f"\naider {edit_format}: exit {res.exit_code} in {res.duration:.1f}s, {len(upstream)} upstream calls"
    )

    refused = [(e.method, e.path, e.status, e.response_body[:300]) for e in tap.exchanges if e.status >= 400]
    assert not refused, f"Aider got error answers: {refused}\n{res.describe()}"
    assert res.exit_code == 0, res.describe()
    assert target.read_text() == expected, f"file is {target.read_text()!r}\n{res.describe()}"
    assert AGENT_DONE in res.stdout and "Applied edit to hello.txt" in res.stdout, res.describe()
    # the call reached the Chat fake under the route's name, with the file Aider put in the chat
    assert upstream and all(r.status == 200 for r in upstream), [(r.path, r.status) for r in upstream]
    first = upstream[0].json
    assert first["model"] == model
    sent = "\n".join(str(m.get("content")) for m in first["messages"])
    assert "hello.txt" in sent and ORIGINAL.strip() in sent, "Aider did not send the file it edits"
    # Aider's answers passed through the gateway, which named itself and the route
    calls = [e for e in tap.exchanges if e.path.endswith("/chat/completions")]
    assert calls and all(e.response_headers.get("x-model") == model for e in calls)
