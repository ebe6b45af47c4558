"""The distribution: a built wheel and the editable install both import under ``genai_cost``."""

from __future__ import annotations

import subprocess
import sys
import sysconfig
import zipfile
from importlib.metadata import entry_points
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
MODULES = (
    "genai_cost.instrumentation",
    "genai_cost.instrumentation.openai",
    "genai_cost.instrumentation.anthropic",
    "genai_cost.processor.cli",
    "genai_cost.processor.domain.pricing",
    "genai_cost.processor.ingest",
    "genai_cost.processor.ingest._spanscan",  # compiled from processor/ingest/_spanscan.c
    "genai_cost.processor.domain._slots",  # compiled from processor/domain/_slots.c
    "genai_cost.processor.adapters.ledger._recent",  # compiled from processor/adapters/ledger/_recent.c
    "genai_cost.fakes.llm_server",
)
ENTRY_POINTS = {
    "genai_cost_openai": "genai_cost.instrumentation.openai:OpenAIInstrumentor",
    "genai_cost_anthropic": "genai_cost.instrumentation.anthropic:AnthropicInstrumentor",
}


def test_the_editable_install_maps_the_folders_onto_the_namespace() -> None:
    import genai_cost.fakes
    import genai_cost.instrumentation
    import genai_cost.processor

    assert Path(genai_cost.instrumentation.__file__).parent == ROOT / "instrumentation"
    assert Path(genai_cost.processor.__file__).parent == ROOT / "processor"
    assert Path(genai_cost.fakes.__file__).parent == ROOT / "tests" / "fakes"
    found = {ep.name: ep.value for ep in entry_points(group="opentelemetry_instrumentor")}
    assert {name: found.get(name) for name in ENTRY_POINTS} == ENTRY_POINTS


@pytest.mark.slow
def test_a_built_wheel_imports_on_its_own(tmp_path: Path) -> None:
    out = tmp_path / "dist"
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q", "-w", str(out), str(ROOT)],
        check=True,
        capture_output=True,
    )
    (wheel,) = out.glob("genai_cost-*.whl")
    with zipfile.ZipFile(wheel) as archive:
        names = set(archive.namelist())
        archive.extractall(tmp_path / "site")
    assert "genai_cost/instrumentation/core/guard.py" in names
    assert "genai_cost/processor/domain/records.py" in names
    assert "genai_cost/fakes/llm_server.py" in names
    assert "genai_cost/instrumentation/py.typed" in names
    for compiled in ("processor/ingest/_spanscan.", "processor/domain/_slots.", "processor/adapters/ledger/_recent."):
        assert [n for n in names if n.startswith(f"genai_cost/{compiled}") and n.endswith(".so")], compiled
    assert not [n for n in names if n.startswith(("tests/", "instrumentation/", "processor/"))]
    assert not [n for n in names if "/test_" in n]  # no test modules ship, only the fakes
    entry_points_txt = next(n for n in names if n.endswith(".dist-info/entry_points.txt"))
    with zipfile.ZipFile(wheel) as archive:
        declared = archive.read(entry_points_txt).decode()
    for name, target in ENTRY_POINTS.items():
        assert f"{name} = {target}" in declared

    # -S: no site hooks, so the editable install's finder is not loaded; dependencies still resolve
    # from this environment's site-packages, the package itself only from the unpacked wheel.
    site_packages = sysconfig.get_paths()["purelib"]
    probe = (
        "import importlib, sys\n"
        f"sys.path[:0] = [{str(tmp_path / 'site')!r}, {site_packages!r}]\n"
        f"for name in {MODULES!r}:\n"
        "    module = importlib.import_module(name)\n"
        f"    assert module.__file__.startswith({str(tmp_path / 'site')!r}), (name, module.__file__)\n"
        "print('ok')\n"
    )
    result = subprocess.run([sys.executable, "-S", "-c", probe], capture_output=True, text=True, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "ok"
