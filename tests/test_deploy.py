"""The container deployment validates: docker compose config, promtool, the dashboards (deploy/check.sh)."""
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_deployment_files_validate():
    result = subprocess.run(["bash", str(ROOT / "deploy/check.sh")], capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "PASS  docker" in result.stdout or "SKIP  docker" in result.stdout


# --- Kubernetes (deploy/k8s) -------------------------------------------------------------------------------------
import os  # noqa: E402
import sys  # noqa: E402

import pytest  # noqa: E402
import yaml  # noqa: E402

from shared.messaging import topology  # noqa: E402
from shared.runtime.spec import built_services, web_services  # noqa: E402

TOOLS = Path(os.environ.get("YISHI_TOOLS_DIR", "/opt/yishi-tools")) / "bin"
OVERLAYS = ("embedded-demo", "production")
needs_tools = pytest.mark.skipif(not (TOOLS / "kubectl").exists() or not (TOOLS / "kubernetes-validate").exists(),
                                 reason="kubectl / kubernetes-validate not installed (deploy/install-tools.sh)")


def render(overlay: str, tmp_path: Path) -> Path:
    out = tmp_path / f"{overlay}.yaml"
    result = subprocess.run([str(TOOLS / "kubectl"), "kustomize", str(ROOT / "deploy/k8s/overlays" / overlay)],
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    out.write_text(result.stdout, encoding="utf-8")
    return out


def test_the_generated_manifests_are_what_the_code_and_the_alert_rules_say():
    result = subprocess.run([sys.executable, str(ROOT / "deploy/k8s/generate.py"), "--check"], capture_output=True,
                            text=True, timeout=60)
    assert result.returncode == 0, result.stdout + result.stderr


@needs_tools
@pytest.mark.parametrize("overlay", OVERLAYS)
def test_each_overlay_renders_and_validates_against_kubernetes_and_the_operators_schemas(overlay, tmp_path):
    rendered = render(overlay, tmp_path)
    core = subprocess.run([str(TOOLS / "kubernetes-validate"), "--strict", "--quiet", "--no-warn", str(rendered)],
                          capture_output=True, text=True, timeout=120)
    assert core.returncode == 0, core.stdout + core.stderr
    crs = subprocess.run([str(TOOLS / "python"), str(ROOT / "deploy/k8s/validate_crs.py"), str(rendered)],
                         capture_output=True, text=True, timeout=120)
    assert crs.returncode == 0, crs.stdout + crs.stderr
    assert "custom resources checked against 4 CRD schemas" in crs.stdout


@needs_tools
def test_the_custom_resource_check_refuses_an_unknown_field_a_wrong_type_and_an_unknown_kind(tmp_path):
    docs = [d for d in yaml.safe_load_all(render("production", tmp_path).read_text(encoding="utf-8"))]
    cluster = next(d for d in docs if d["kind"] == "Cluster")
    cluster["spec"]["instance"] = cluster["spec"].pop("instances")
    rabbit = next(d for d in docs if d["kind"] == "RabbitmqCluster")
    rabbit["spec"]["affinity"]["podAntiAffinity"]["requiredDuringSchedulingIgnoredDuringExecution"][0]["topologyKeys"] = "x"
    monitor = next(d for d in docs if d["kind"] == "ServiceMonitor")
    monitor["spec"]["endpoints"][0]["honorLabels"] = "yes"
    docs.append({"apiVersion": "example.com/v1", "kind": "Widget", "metadata": {"name": "w"}})
    bad = tmp_path / "bad.yaml"
    bad.write_text(yaml.safe_dump_all(docs), encoding="utf-8")
    result = subprocess.run([str(TOOLS / "python"), str(ROOT / "deploy/k8s/validate_crs.py"), str(bad)],
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 1
    for expected in ("'instance' was unexpected", "'instances' is a required property", "'topologyKeys' was unexpected",
                     "'yes' is not of type 'boolean'", "no schema for example.com/v1 Widget"):
        assert expected in result.stdout, result.stdout


@needs_tools
def test_production_runs_two_of_everything_on_a_database_per_service_and_scales_workers_on_lag(tmp_path):
    docs = [d for d in yaml.safe_load_all(render("production", tmp_path).read_text(encoding="utf-8")) if d]
    by_kind: dict[str, dict[str, dict]] = {}
    for d in docs:
        by_kind.setdefault(d["kind"], {})[d["metadata"]["name"]] = d
    deployments, evented = by_kind["Deployment"], built_services()
    for service in web_services():
        web = deployments[service]
        box = web["spec"]["template"]["spec"]["containers"][0]
        assert web["spec"]["replicas"] >= 2
        assert box["command"] == ["python", "-m", "shared.runtime.web", service]  # deploy/Dockerfile's entrypoints
        assert box["readinessProbe"]["httpGet"]["path"] == "/health" and "livenessProbe" in box
        assert service in by_kind["PodDisruptionBudget"] and service in by_kind["Service"]
    for service in evented:
        worker = deployments[f"{service}-worker"]
        box = worker["spec"]["template"]["spec"]["containers"][0]
        assert box["command"] == ["python", "-m", "shared.runtime.worker", service]
        assert f"{service}-worker" in by_kind["PodDisruptionBudget"]
        own = {e["name"] for e in box["env"] if e["name"].endswith("_DATABASE_URL")}
        assert own == {f"YISHI_{service.upper()}_DATABASE_URL"}  # its own database only, never another's
        cluster = by_kind["Cluster"][f"yishi-{service}-pg"]
        assert cluster["spec"]["instances"] == 3 and cluster["spec"]["bootstrap"]["initdb"]["database"] == service
        if topology.upstreams(service):
            hpa = by_kind["HorizontalPodAutoscaler"][f"{service}-worker"]
            assert hpa["spec"]["minReplicas"] >= 2 and "replicas" not in worker["spec"]
            assert hpa["spec"]["metrics"][0]["external"]["metric"] == {
                "name": "yishi_consumer_lag_messages", "selector": {"matchLabels": {"service": service}}}
    assert deployments["portal"]["spec"]["template"]["spec"]["containers"][0]["ports"][0]["containerPort"] == 8005
    assert by_kind["RabbitmqCluster"]["yishi-rabbitmq"]["spec"]["replicas"] == 3
    assert len(by_kind["Cluster"]) == len(evented)
    rules = by_kind["PrometheusRule"]["yishi"]["spec"]["groups"]
    on_disk = yaml.safe_load((ROOT / "deploy/prometheus/rules/yishi.rules.yml").read_text(encoding="utf-8"))["groups"]
    assert rules == on_disk
    ops = {e["name"] for e in deployments["yishi-ops"]["spec"]["template"]["spec"]["containers"][0]["env"]}
    assert {f"YISHI_{s.upper()}_DATABASE_URL" for s in evented} <= ops
