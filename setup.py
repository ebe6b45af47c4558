"""Maps the user-chosen top-level folders onto the ``genai_cost`` namespace.

``instrumentation/`` -> ``genai_cost.instrumentation``, ``processor/`` -> ``genai_cost.processor``,
``tests/fakes/`` -> ``genai_cost.fakes`` (the fake LLM server, used by tests and the demo).
Three hot-path helpers are compiled from C when a compiler is available (without one the package
installs and uses their Python equivalents): ``genai_cost.processor.ingest._spanscan`` (OTLP
protobuf -> span views), ``genai_cost.processor.domain._slots`` (record constructors) and
``genai_cost.processor.adapters.ledger._recent`` (the response-id window).
Everything else lives in ``pyproject.toml``.
"""

from pathlib import Path

from setuptools import Extension, setup

ROOTS = {
    "genai_cost.instrumentation": "instrumentation",
    "genai_cost.processor": "processor",
    "genai_cost.fakes": "tests/fakes",
}


def _packages() -> tuple[list[str], dict[str, str]]:
    here = Path(__file__).parent
    packages: list[str] = []
    package_dir: dict[str, str] = {}
    for name, folder in ROOTS.items():
        package_dir[name] = folder
        for init in sorted((here / folder).rglob("__init__.py")):
            rel = init.parent.relative_to(here / folder)
            if "__pycache__" in rel.parts:
                continue
            packages.append(".".join([name, *rel.parts]) if rel.parts else name)
    return packages, package_dir


PACKAGES, PACKAGE_DIR = _packages()
COMPILE_ARGS = ["-O2", "-std=c11", "-Wall", "-Wextra"]
EXTENSIONS = [
    Extension("genai_cost.processor.ingest._spanscan", ["processor/ingest/_spanscan.c"], optional=True,
              extra_compile_args=COMPILE_ARGS),
    Extension("genai_cost.processor.domain._slots", ["processor/domain/_slots.c"], optional=True,
              extra_compile_args=COMPILE_ARGS),
    Extension("genai_cost.processor.adapters.ledger._recent", ["processor/adapters/ledger/_recent.c"],
              optional=True, extra_compile_args=COMPILE_ARGS),
]  # fmt: skip
setup(packages=PACKAGES, package_dir=PACKAGE_DIR, ext_modules=EXTENSIONS)
