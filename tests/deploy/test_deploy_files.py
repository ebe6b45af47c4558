"""Dockerfile, Compose, Kubernetes and Collector files: parsed, every path, port and rule they name exists.

No container engine runs here, so these files are checked by reading them.
"""

from __future__ import annotations

import importlib.util
import re
import shlex
import sys
import tomllib
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
import yaml
from metric_contract import HEALTH_PATH, HTTP_PORT, METRICS_PATH, OTLP_GRPC_PORT, OTLP_HTTP_PORT, READY_PATH, SCRAPE_JOB
from prom_harness import PROMETHEUS_DIR, REPO_ROOT

DEPLOY = REPO_ROOT / "deploy"
COMPOSE_FILE = DEPLOY / "compose" / "compose.yaml"
DOCKERFILE = DEPLOY / "Dockerfile"
PROCESSOR_CONFIG = DEPLOY / "config" / "genai-cost.yaml"
K8S = DEPLOY / "kubernetes"
COLLECTOR = DEPLOY / "collector" / "otel-collector.yaml"
CONTRACT_PORTS = {OTLP_GRPC_PORT, OTLP_HTTP_PORT, HTTP_PORT}


def _yaml(path: Path) -> Any:
    return yaml.safe_load(path.read_text())


def _compose() -> dict[str, Any]:
    compose: dict[str, Any] = _yaml(COMPOSE_FILE)
    return compose


def _bind_mounts(service: dict[str, Any]) -> dict[str, Path]:
    """Container path -> repository path of a service's relative bind mounts."""
    mounts: dict[str, Path] = {}
    for volume in service.get("volumes", []):
        source, target = volume.split(":")[:2]
        if source.startswith("."):
            mounts[target] = (COMPOSE_FILE.parent / source).resolve()
    return mounts


def _in_container(service: dict[str, Any], container_path: str) -> Path:
    """The repository file a container path of a service resolves to through its bind mounts."""
    for target, source in sorted(_bind_mounts(service).items(), key=lambda item: -len(item[0])):
        if container_path == target:
            return source
        if container_path.startswith(target.rstrip("/") + "/"):
            return source / container_path[len(target.rstrip("/")) + 1 :]
    raise AssertionError(f"{container_path} is not bind-mounted from the repository")


# --- processor configuration -------------------------------------------------------------------


def test_processor_config_uses_the_contract_ports() -> None:
    config = _yaml(PROCESSOR_CONFIG)
    assert set(config) == {"otlp", "http", "ledger", "pricing", "ingest", "alertmanager", "budgets"}
    assert config["otlp"] == {
        "grpc": {"host": "0.0.0.0", "port": OTLP_GRPC_PORT},
        "http": {"host": "0.0.0.0", "port": OTLP_HTTP_PORT},
    }
    assert config["http"] == {"host": "0.0.0.0", "port": HTTP_PORT}
    assert config["ledger"]["path"] == "/var/lib/genai-cost/ledger.sqlite3"
    assert config["alertmanager"]["urls"] == ["http://alertmanager:9093"]
    assert [b["name"] for b in config["budgets"]] == ["team-monthly", "daily-safety-net"]
    assert config["ingest"]["tag_attributes"] == {"genai_cost.tag.team": "team"}


@pytest.mark.parametrize("source", ["compose", "kubernetes"])
def test_processor_accepts_the_deploy_configs(source: str, tmp_path: Path) -> None:
    """The processor's own loaders read both configurations without error."""
    config_module = pytest.importorskip("genai_cost.processor.config")
    budgets_module = pytest.importorskip("genai_cost.processor.domain.budgets.config")
    alertmanager_module = pytest.importorskip("genai_cost.processor.adapters.alertmanager")
    if source == "compose":
        path = PROCESSOR_CONFIG
    else:
        path = tmp_path / "config.yaml"
        path.write_text(_k8s()[("ConfigMap", "genai-cost-config")]["data"]["config.yaml"])
    config = config_module.load(environ={}, config_file=path)
    assert (config.grpc.host, config.grpc.port) == ("0.0.0.0", OTLP_GRPC_PORT)
    assert (config.otlp_http.host, config.otlp_http.port) == ("0.0.0.0", OTLP_HTTP_PORT)
    assert (config.http.host, config.http.port) == ("0.0.0.0", HTTP_PORT)
    assert config.ledger_path == Path("/var/lib/genai-cost/ledger.sqlite3")
    budgets = budgets_module.parse_budgets(config.sections["budgets"])
    assert [(b.name, b.period.value, str(b.limit_usd)) for b in budgets] == [
        ("team-monthly", "month", "500"),
        ("daily-safety-net", "day", "50"),
    ]
    settings = alertmanager_module.parse_alertmanager_settings(config.sections["alertmanager"])
    assert len(settings.urls) == 1


# --- Dockerfile --------------------------------------------------------------------------------


def _instructions() -> list[tuple[str, str]]:
    text = DOCKERFILE.read_text().replace("\\\n", " ")
    found: list[tuple[str, str]] = []
    for line in text.splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            keyword, _, rest = line.partition(" ")
            found.append((keyword.upper(), rest.strip()))
    return found


def test_dockerfile_copies_only_existing_paths() -> None:
    copies = [rest for keyword, rest in _instructions() if keyword == "COPY" and not rest.startswith("--from")]
    assert copies
    for rest in copies:
        *sources, _destination = shlex.split(rest)
        for source in sources:
            assert (REPO_ROOT / source).exists(), source


def test_docker_context_leaves_out_local_builds() -> None:
    ignored = set((REPO_ROOT / ".dockerignore").read_text().split())
    assert {".venv*", "build", "**/*.so"} <= ignored  # the image compiles its own modules


def test_dockerfile_installs_the_processor_extra_and_runs_it_as_non_root() -> None:
    instructions = _instructions()
    by_keyword: dict[str, list[str]] = {}
    for keyword, rest in instructions:
        by_keyword.setdefault(keyword, []).append(rest)
    assert any('pip wheel --no-cache-dir --wheel-dir /wheels ".[processor]"' in run for run in by_keyword["RUN"])
    # The build stage has a C compiler and the image fails to build without the compiled helpers.
    assert any("apt-get install" in run and "gcc" in run for run in by_keyword["RUN"])
    compiled = {
        "genai_cost.processor.ingest._spanscan",
        "genai_cost.processor.domain._slots",
        "genai_cost.processor.adapters.ledger._recent",
    }
    assert any(all(f"import {name}" in run or f", {name}" in run for name in compiled) for run in by_keyword["RUN"])
    sources = [p for folder in ("processor", "instrumentation") for p in (REPO_ROOT / folder).rglob("*.c")]
    assert {".".join(["genai_cost", *p.relative_to(REPO_ROOT).with_suffix("").parts]) for p in sources} == compiled
    assert by_keyword["EXPOSE"] == [" ".join(str(p) for p in (OTLP_GRPC_PORT, OTLP_HTTP_PORT, HTTP_PORT))]
    [user] = by_keyword["USER"]
    assert user.split(":")[0] not in {"root", "0"}
    [healthcheck] = by_keyword["HEALTHCHECK"]
    assert f"http://127.0.0.1:{HTTP_PORT}{HEALTH_PATH}" in healthcheck
    assert by_keyword["ENTRYPOINT"] == ['["genai-cost"]']
    assert by_keyword["CMD"] == ['["serve"]']
    # The entrypoint is the project's console script.
    pyproject = tomllib.loads((REPO_ROOT / "pyproject.toml").read_text())
    assert "genai-cost" in pyproject["project"]["scripts"]
    assert "processor" in pyproject["project"]["optional-dependencies"]


# --- Compose -----------------------------------------------------------------------------------


def test_compose_services_and_the_optional_collector() -> None:
    services = _compose()["services"]
    assert set(services) == {"processor", "prometheus", "alertmanager", "grafana", "otel-collector"}
    assert services["otel-collector"]["profiles"] == ["collector"]
    assert all("profiles" not in s for name, s in services.items() if name != "otel-collector")


def test_compose_mounts_exist_in_the_repository() -> None:
    compose = _compose()
    mounts = [(name, source) for name, s in compose["services"].items() for source in _bind_mounts(s).values()]
    assert len(mounts) == 7
    for name, source in mounts:
        assert source.exists(), (name, source)
        assert REPO_ROOT in source.parents, (name, source)
    named = {
        v.split(":")[0] for s in compose["services"].values() for v in s.get("volumes", []) if not v.startswith(".")
    }
    assert named == set(compose["volumes"])
    build = compose["services"]["processor"]["build"]
    assert (COMPOSE_FILE.parent / build["context"]).resolve() == REPO_ROOT
    assert (REPO_ROOT / build["dockerfile"]) == DOCKERFILE


def test_compose_processor_ports_and_config() -> None:
    processor = _compose()["services"]["processor"]
    assert processor["ports"] == [f"{p}:{p}" for p in (OTLP_GRPC_PORT, OTLP_HTTP_PORT, HTTP_PORT)]
    command = processor["command"]
    assert command[:2] == ["serve", "--config"]
    assert _in_container(processor, command[2]) == PROCESSOR_CONFIG
    assert any(v.startswith("genai-cost-data:/var/lib/genai-cost") for v in processor["volumes"])


def test_compose_prometheus_and_alertmanager_load_the_repository_configs() -> None:
    services = _compose()["services"]
    prometheus, alertmanager = services["prometheus"], services["alertmanager"]
    config_flag = next(a for a in prometheus["command"] if a.startswith("--config.file="))
    assert _in_container(prometheus, config_flag.split("=", 1)[1]) == PROMETHEUS_DIR / "prometheus.yml"
    config_flag = next(a for a in alertmanager["command"] if a.startswith("--config.file="))
    assert _in_container(alertmanager, config_flag.split("=", 1)[1]) == DEPLOY / "alertmanager" / "alertmanager.yml"


def test_compose_addresses_resolve_to_services_and_ports() -> None:
    services = _compose()["services"]
    published = {name: {int(p.split(":")[-1]) for p in s.get("ports", [])} for name, s in services.items()}
    prometheus_config = _yaml(PROMETHEUS_DIR / "prometheus.yml")
    job = next(j for j in prometheus_config["scrape_configs"] if j["job_name"] == SCRAPE_JOB)
    addresses = [
        *job["static_configs"][0]["targets"],
        *prometheus_config["alerting"]["alertmanagers"][0]["static_configs"][0]["targets"],
        *(u.removeprefix("http://") for u in _yaml(PROCESSOR_CONFIG)["alertmanager"]["urls"]),
        *(
            ds["url"].removeprefix("http://")
            for ds in _yaml(REPO_ROOT / "grafana" / "provisioning" / "datasources" / "genai-cost.yaml")["datasources"]
        ),
    ]
    assert addresses == [
        "processor:9464",
        "alertmanager:9093",
        "alertmanager:9093",
        "prometheus:9090",
        "alertmanager:9093",
    ]
    for address in addresses:
        host, port = address.split(":")
        assert int(port) in published[host], address
    collector = services["otel-collector"]
    assert collector["environment"]["GENAI_COST_PROCESSOR_HOST"] == "processor"
    assert _in_container(collector, "/etc/otelcol-contrib/config.yaml") == COLLECTOR


# --- Kubernetes --------------------------------------------------------------------------------


def _k8s() -> dict[tuple[str, str], dict[str, Any]]:
    kustomization = _yaml(K8S / "kustomization.yaml")
    objects: dict[tuple[str, str], dict[str, Any]] = {}
    for resource in kustomization["resources"]:
        path = K8S / resource
        assert path.exists(), resource
        for document in yaml.safe_load_all(path.read_text()):
            objects[(document["kind"], document["metadata"]["name"])] = document
    return objects


def test_kubernetes_resources() -> None:
    assert sorted(_k8s()) == [
        ("ConfigMap", "genai-cost-config"),
        ("Deployment", "genai-cost"),
        ("PersistentVolumeClaim", "genai-cost-data"),
        ("PrometheusRule", "genai-cost"),
        ("Service", "genai-cost"),
        ("Service", "genai-cost-peers"),
        ("ServiceMonitor", "genai-cost"),
    ]
    listed = {p.name for p in K8S.glob("*.yaml")} - {"kustomization.yaml"}
    assert listed == set(_yaml(K8S / "kustomization.yaml")["resources"])


def test_kubernetes_deployment() -> None:
    objects = _k8s()
    deployment = objects[("Deployment", "genai-cost")]
    pod = deployment["spec"]["template"]
    assert deployment["spec"]["selector"]["matchLabels"].items() <= pod["metadata"]["labels"].items()
    assert pod["spec"]["securityContext"]["runAsNonRoot"] is True
    [container] = pod["spec"]["containers"]
    ports = {p["name"]: p["containerPort"] for p in container["ports"]}
    assert ports == {"otlp-grpc": OTLP_GRPC_PORT, "otlp-http": OTLP_HTTP_PORT, "http-metrics": HTTP_PORT}
    assert container["readinessProbe"]["httpGet"] == {"path": READY_PATH, "port": "http-metrics"}
    assert container["livenessProbe"]["httpGet"] == {"path": HEALTH_PATH, "port": "http-metrics"}
    assert container["args"] == ["serve", "--config", "/etc/genai-cost/config.yaml"]
    volumes = {v["name"]: v for v in pod["spec"]["volumes"]}
    mounts = {m["mountPath"]: m["name"] for m in container["volumeMounts"]}
    config_volume = volumes[mounts["/etc/genai-cost"]]
    configmap = objects[("ConfigMap", config_volume["configMap"]["name"])]
    assert "config.yaml" in configmap["data"]
    data_volume = volumes[mounts["/var/lib/genai-cost"]]
    assert ("PersistentVolumeClaim", data_volume["persistentVolumeClaim"]["claimName"]) in objects
    assert deployment["spec"]["strategy"]["type"] == "Recreate"  # one SQLite writer at a time


def test_kubernetes_configmap_matches_the_compose_config_but_the_alertmanager_url() -> None:
    configmap = _k8s()[("ConfigMap", "genai-cost-config")]
    in_cluster = yaml.safe_load(configmap["data"]["config.yaml"])
    compose = _yaml(PROCESSOR_CONFIG)
    assert in_cluster["alertmanager"]["urls"] == ["http://alertmanager-operated.monitoring.svc:9093"]
    in_cluster["alertmanager"] = compose["alertmanager"]
    assert in_cluster == compose


def test_kubernetes_services_and_service_monitor() -> None:
    objects = _k8s()
    pod = objects[("Deployment", "genai-cost")]["spec"]["template"]
    pod_labels = pod["metadata"]["labels"]
    container_ports = {p["name"] for p in pod["spec"]["containers"][0]["ports"]}
    service = objects[("Service", "genai-cost")]
    assert service["metadata"]["name"] == SCRAPE_JOB  # the job label a ServiceMonitor gives the targets
    assert {p["name"]: p["port"] for p in service["spec"]["ports"]} == {
        "otlp-grpc": OTLP_GRPC_PORT,
        "otlp-http": OTLP_HTTP_PORT,
        "http-metrics": HTTP_PORT,
    }
    peers = objects[("Service", "genai-cost-peers")]
    assert peers["spec"]["clusterIP"] == "None"
    assert [p["port"] for p in peers["spec"]["ports"]] == [OTLP_GRPC_PORT]
    for svc in (service, peers):
        assert svc["spec"]["selector"].items() <= pod_labels.items()
        assert {p["targetPort"] for p in svc["spec"]["ports"]} <= container_ports
    monitor = objects[("ServiceMonitor", "genai-cost")]
    selector = monitor["spec"]["selector"]["matchLabels"]
    assert selector.items() <= service["metadata"]["labels"].items()
    assert not selector.items() <= peers["metadata"]["labels"].items()  # scraped once, not twice
    assert monitor["spec"]["endpoints"] == [{"port": "http-metrics", "path": METRICS_PATH, "interval": "15s"}]


def _renderer() -> ModuleType:
    path = K8S / "render_prometheusrule.py"
    spec = importlib.util.spec_from_file_location("render_prometheusrule", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def test_prometheus_rule_equals_the_rule_files() -> None:
    rule = _k8s()[("PrometheusRule", "genai-cost")]
    groups = [
        group for path in sorted((PROMETHEUS_DIR / "rules").glob("*.rules.yml")) for group in _yaml(path)["groups"]
    ]
    assert rule["spec"]["groups"] == groups
    assert [g["name"] for g in groups] == ["genai-cost.alerts", "genai-cost.rules", "genai-cost.baseline.rules"]
    assert _renderer().main(["--check"]) == 0


def test_prometheus_rule_check_detects_drift(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    renderer = _renderer()
    stale = tmp_path / "prometheusrule.yaml"
    stale.write_text(renderer.render().replace("for: 30m", "for: 1h"))
    monkeypatch.setattr(renderer, "OUTPUT", stale)
    assert renderer.main(["--check"]) == 1
    assert renderer.main([]) == 0
    assert stale.read_text() == (K8S / "prometheusrule.yaml").read_text()


# --- OpenTelemetry Collector -------------------------------------------------------------------


def test_collector_pipeline_references_defined_components() -> None:
    config = _yaml(COLLECTOR)
    service = config["service"]
    assert set(service["extensions"]) <= set(config["extensions"])
    used: dict[str, set[str]] = {"receivers": set(), "processors": set(), "exporters": set()}
    for pipeline_name, pipeline in service["pipelines"].items():
        assert pipeline_name.split("/")[0] == "traces"
        for kind in used:
            assert pipeline[kind], (pipeline_name, kind)
            assert set(pipeline[kind]) <= set(config[kind]), (pipeline_name, kind)
            used[kind] |= set(pipeline[kind])
    for kind, names in used.items():
        assert names == set(config[kind]), f"{kind} defined but unused: {set(config[kind]) - names}"
    assert service["pipelines"]["traces"]["processors"][0] == "memory_limiter"
    assert service["pipelines"]["traces"]["processors"][-1] == "batch"


def test_collector_load_balances_by_trace_id_to_the_processor_otlp_port() -> None:
    config = _yaml(COLLECTOR)
    exporter = config["exporters"]["loadbalancing"]
    assert exporter["routing_key"] == "traceID"
    assert exporter["protocol"]["otlp"]["tls"] == {"insecure": True}
    dns = exporter["resolver"]["dns"]
    assert dns["port"] == str(OTLP_GRPC_PORT)
    env = re.fullmatch(r"\$\{env:(\w+)\}", dns["hostname"])
    assert env is not None
    assert env.group(1) in _compose()["services"]["otel-collector"]["environment"]
    protocols = config["receivers"]["otlp"]["protocols"]
    assert protocols["grpc"]["endpoint"].endswith(f":{OTLP_GRPC_PORT}")
    assert protocols["http"]["endpoint"].endswith(f":{OTLP_HTTP_PORT}")


def test_collector_filter_keeps_spans_with_genai_attributes() -> None:
    [condition] = _yaml(COLLECTOR)["processors"]["filter/genai"]["traces"]["span"]
    keys = re.findall(r'attributes\["([^"]+)"\] == nil', condition)
    assert condition.count(" and ") == len(keys) - 1  # drop only when every key is absent
    assert {
        "gen_ai.operation.name",
        "gen_ai.system",
        "gen_ai.provider.name",
        "llm.model_name",
        "openinference.span.kind",
    } <= set(keys)
    assert all(key.startswith(("gen_ai.", "llm.", "openinference.", "traceloop.")) for key in keys)
