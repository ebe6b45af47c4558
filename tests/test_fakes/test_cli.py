"""``python -m genai_cost.fakes.llm_server`` runs in the foreground and stops on SIGTERM."""

from __future__ import annotations

import re
import signal
import subprocess
import sys

import openai
import pytest

from genai_cost.fakes.llm_server import main


@pytest.mark.slow
def test_module_serves_until_sigterm() -> None:
    process = subprocess.Popen(
        [sys.executable, "-m", "genai_cost.fakes.llm_server", "--port", "0", "--map", "gpt-4o=gpt-4o-2024-08-06"],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        line = process.stdout.readline()  # readiness: printed once the socket listens
        match = re.fullmatch(r"fake LLM server listening on (http://127\.0\.0\.1:\d+)\n", line)
        assert match is not None, line
        client = openai.OpenAI(base_url=match.group(1) + "/v1", api_key="k", max_retries=0)
        completion = client.chat.completions.create(model="gpt-4o", messages=[{"role": "user", "content": "hi"}])
        client.close()
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=10) == 0
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    assert completion.model == "gpt-4o-2024-08-06"
    assert completion.usage is not None and completion.usage.total_tokens == 1500


def test_bad_map_argument_names_the_value(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as info:
        main(["--map", "gpt-4o"])

    assert info.value.code == 2
    assert "--map: 'gpt-4o' is not REQUESTED=RESPONSE" in capsys.readouterr().err
