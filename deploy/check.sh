#!/usr/bin/env bash
# Validates the deployment files: docker-compose.yml, deploy/Dockerfile,
# deploy/prometheus (config, rules, rule unit tests), deploy/grafana (provisioning, dashboards),
# deploy/k8s (each overlay rendered by kubectl kustomize, checked by kubernetes-validate and, for the operators'
# custom resources, against the CRD schemas in deploy/k8s/crds; the generated files match their sources).
# Runs every validator found on this machine and SKIPS, saying why, those that are missing
# (deploy/install-tools.sh installs them on Debian). Exits non-zero on any real failure.
#   YISHI_CHECK_BUILD=1  also `docker build` the image (needs a docker engine).
#   YISHI_CHECK_STRICT=1 treat a skipped validator as a failure.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

ok=0 failed=0 skipped=0
TMP="$(mktemp -d)"
trap 'rm -rf "$TMP"' EXIT

pass() { ok=$((ok + 1)); echo "PASS  $*"; }
fail() { failed=$((failed + 1)); echo "FAIL  $*"; }
skip() { skipped=$((skipped + 1)); echo "SKIP  $*"; }
have() { command -v "$1" >/dev/null 2>&1; }

# run LABEL CMD...: runs CMD, shows its output indented, counts PASS/FAIL.
run() {
    local label="$1"; shift
    local out rc=0
    out="$("$@" 2>&1)" || rc=$?
    if [ -n "$out" ]; then
        printf '%s\n' "$out" | sed 's/^/      /'
    fi
    if [ "$rc" -eq 0 ]; then pass "$label"; else fail "$label (exit $rc)"; fi
}

PY=""
for c in python3 python; do
    if have "$c"; then PY="$c"; break; fi
done

# --- docker compose ---------------------------------------------------------------
EXPECTED_SERVICES="casework casework-relay grafana intake intake-relay liaison liaison-relay meetings meetings-relay notifications notifications-relay portal postgres prometheus rabbitmq"
compose=()
if docker compose version >/dev/null 2>&1; then
    compose=(docker compose)
    echo "compose: $(docker compose version 2>&1 | head -n 1)"
elif have docker-compose && docker-compose version >/dev/null 2>&1; then
    compose=(docker-compose)
    echo "compose: $(docker-compose version 2>&1 | head -n 1) (Compose v1: no v2 plugin here)"
fi
if [ "${#compose[@]}" -gt 0 ]; then
    before=$failed
    run "${compose[*]} config -q" "${compose[@]}" -f docker-compose.yml config -q
    if [ "$failed" -eq "$before" ]; then
        # keycloak is behind `--profile sso`, which Compose v1 lists anyway and v2 does not
        got="$("${compose[@]}" -f docker-compose.yml config --services 2>/dev/null | grep -vx keycloak | sort \
               | tr '\n' ' ' | sed 's/ $//')" || true
        if [ "$got" = "$EXPECTED_SERVICES" ]; then
            pass "compose services: $got"
        else
            fail "compose services: expected [$EXPECTED_SERVICES] got [$got]"
        fi
    fi
else
    skip "compose config: neither 'docker compose' (v2 plugin) nor 'docker-compose' (v1) works here"
fi

# --- AsyncAPI (the event catalogue) ------------------------------------------------
if have asyncapi; then
    # `--fail-severity error`: the document must be valid; advice (a newer AsyncAPI version exists) is shown
    run "asyncapi validate docs/asyncapi.yaml" env SUPPRESS_NO_CONFIG_WARNING=1 \
        asyncapi validate docs/asyncapi.yaml --fail-severity error
else
    skip "asyncapi: not installed (deploy/install-tools.sh; needs Node.js)"
fi

# --- Dockerfile --------------------------------------------------------------------
if have hadolint; then
    run "hadolint deploy/Dockerfile" hadolint deploy/Dockerfile
else
    skip "hadolint: not installed (deploy/install-tools.sh)"
fi
if [ "${YISHI_CHECK_BUILD:-0}" = "1" ]; then
    if have docker && docker info >/dev/null 2>&1; then
        run "docker build -f deploy/Dockerfile" docker build -q -f deploy/Dockerfile -t yishi:check .
    else
        skip "docker build: no docker engine reachable"
    fi
else
    skip "docker build: set YISHI_CHECK_BUILD=1 (needs a docker engine)"
fi

# --- YAML --------------------------------------------------------------------------
YAML_FILES=(docker-compose.yml)
while IFS= read -r f; do YAML_FILES+=("$f"); done \
    < <(find deploy -type f \( -name '*.yml' -o -name '*.yaml' \) | sort)
if have yamllint; then
    run "yamllint (${#YAML_FILES[@]} files)" yamllint --strict -d '{extends: default, rules: {line-length: disable, document-start: disable, truthy: {check-keys: false}, comments: {min-spaces-from-content: 1}}}' "${YAML_FILES[@]}"
else
    skip "yamllint: not installed (deploy/install-tools.sh)"
fi

# --- Prometheus --------------------------------------------------------------------
RULES=()
while IFS= read -r f; do RULES+=("$f"); done < <(find deploy/prometheus/rules -type f -name '*.yml' | sort)
RULE_TESTS=()
while IFS= read -r f; do RULE_TESTS+=("$f"); done < <(find deploy/prometheus/tests -type f -name '*.yml' 2>/dev/null | sort)
if have promtool; then
    echo "promtool: $(promtool --version 2>&1 | head -n 1)"
    # Check the config as the container sees it: rule_files point at /etc/prometheus/rules,
    # which docker-compose.yml mounts from deploy/prometheus/rules.
    # The operator token for /metrics is a secret written at deployment: a placeholder stands in for it.
    mkdir -p "$TMP/secrets" && echo placeholder > "$TMP/secrets/operator.token"
    sed -e "s#/etc/prometheus/rules/#$ROOT/deploy/prometheus/rules/#g" \
        -e "s#/etc/prometheus/secrets/#$TMP/secrets/#g" deploy/prometheus/prometheus.yml > "$TMP/prometheus.yml"
    run "promtool check config deploy/prometheus/prometheus.yml (rules from deploy/prometheus/rules)" \
        promtool check config "$TMP/prometheus.yml"
    if [ "${#RULES[@]}" -gt 0 ]; then
        run "promtool check rules ${RULES[*]}" promtool check rules "${RULES[@]}"
    else
        fail "no rule files in deploy/prometheus/rules"
    fi
    if [ "${#RULE_TESTS[@]}" -gt 0 ]; then
        run "promtool test rules ${RULE_TESTS[*]}" promtool test rules "${RULE_TESTS[@]}"
    else
        skip "promtool test rules: no tests in deploy/prometheus/tests"
    fi
else
    skip "promtool: not installed (deploy/install-tools.sh); prometheus config and rules not checked"
fi

# --- Grafana -----------------------------------------------------------------------
DASHBOARDS=()
while IFS= read -r f; do DASHBOARDS+=("$f"); done < <(find deploy/grafana/dashboards -type f -name '*.json' | sort)
if [ -z "$PY" ]; then
    fail "dashboards: no python3 to parse ${#DASHBOARDS[@]} JSON file(s)"
elif [ "${#DASHBOARDS[@]}" -eq 0 ]; then
    fail "dashboards: no JSON in deploy/grafana/dashboards"
else
    # json.load every dashboard, check it against the provisioned datasource, and collect
    # its PromQL (Grafana variables replaced) as recording rules for promtool to parse.
    before=$failed
    run "dashboards: json.load + structure (${DASHBOARDS[*]})" "$PY" - "$TMP/dashboard-exprs.yml" "${DASHBOARDS[@]}" <<'PYEOF'
import json, re, sys

out, files = sys.argv[1], sys.argv[2:]
DATASOURCE_UID = "prometheus"   # deploy/grafana/provisioning/datasources/prometheus.yml
problems, exprs, uids = [], [], {}

def walk(panels):
    for p in panels:
        yield p
        yield from walk(p.get("panels", []))

for path in files:
    with open(path, encoding="utf-8") as f:
        d = json.load(f)
    uid = d.get("uid")
    if not uid or not d.get("title"):
        problems.append(f"{path}: missing uid or title")
    if uid in uids:
        problems.append(f"{path}: uid {uid!r} also used by {uids[uid]}")
    uids[uid] = path
    ids = set()
    for p in walk(d.get("panels", [])):
        if p.get("id") in ids:
            problems.append(f"{path}: duplicate panel id {p.get('id')}")
        ids.add(p.get("id"))
        for t in p.get("targets", []):
            if t.get("expr"):
                e = t["expr"]
                e = e.replace("$__rate_interval", "1m").replace("$__interval", "1m").replace("$__range", "1h")
                e = re.sub(r"\$\{?\w+\}?", ".*", e)
                exprs.append((path, p.get("title"), e))
    def datasources(node, where):
        if isinstance(node, dict):
            ds = node.get("datasource")
            if isinstance(ds, dict) and ds.get("type") == "prometheus" and ds.get("uid") != DATASOURCE_UID:
                problems.append(f"{path}: {where}: datasource uid {ds.get('uid')!r}, provisioned is {DATASOURCE_UID!r}")
            for k, v in node.items():
                datasources(v, node.get("title") or node.get("name") or where)
        elif isinstance(node, list):
            for v in node:
                datasources(v, where)
    datasources(d, "dashboard")
    print(f"{path}: {len(ids)} panels, {sum(1 for x in exprs if x[0] == path)} queries")

with open(out, "w", encoding="utf-8") as f:
    f.write("groups:\n  - name: dashboard_queries\n    rules:\n")
    for i, (_, _, e) in enumerate(exprs):
        f.write(f"      - record: dashboard:query_{i}\n        expr: {json.dumps(e)}\n")

for p in problems:
    print(p)
sys.exit(1 if problems else 0)
PYEOF
    if [ "$failed" -ne "$before" ]; then
        :  # already failed; the queries were not collected
    elif have promtool; then
        run "dashboards: PromQL parses (promtool check rules)" promtool check rules "$TMP/dashboard-exprs.yml"
    else
        skip "dashboards: PromQL not parsed (promtool not installed)"
    fi
fi

# --- Kubernetes (deploy/k8s) ----------------------------------------------------------
# The pinned tools live in their own virtualenv (install-tools.sh), whatever kubectl the PATH has.
TOOLS="${YISHI_TOOLS_DIR:-/opt/yishi-tools}/bin"
if [ -x .venv/bin/python ]; then
    run "deploy/k8s generated files match shared/ and the alert rules (generate.py --check)" \
        .venv/bin/python deploy/k8s/generate.py --check
else
    skip "deploy/k8s generate.py --check: no .venv (make creates it)"
fi
if [ -x "$TOOLS/kubectl" ] && [ -x "$TOOLS/kubernetes-validate" ]; then
    echo "kubectl: $("$TOOLS/kubectl" version --client 2>&1 | head -n 1)"
    for overlay in deploy/k8s/overlays/*/; do
        overlay="${overlay%/}"
        name="$(basename "$overlay")"
        before=$failed
        run "kubectl kustomize $overlay" bash -c '"$1" kustomize "$2" > "$3"' _ "$TOOLS/kubectl" "$overlay" "$TMP/k8s-$name.yaml"
        [ "$failed" -eq "$before" ] || continue
        # --no-warn: the operators' kinds have no schema there (validate_crs.py checks them)
        run "kubernetes-validate --strict $name ($(grep -c '^kind:' "$TMP/k8s-$name.yaml") resources)" \
            "$TOOLS/kubernetes-validate" --strict --quiet --no-warn "$TMP/k8s-$name.yaml"
        run "custom resources of $name against deploy/k8s/crds" \
            "$TOOLS/python" deploy/k8s/validate_crs.py "$TMP/k8s-$name.yaml"
    done
else
    skip "deploy/k8s: kubectl or kubernetes-validate not in $TOOLS (deploy/install-tools.sh)"
fi

echo
echo "check.sh: $ok ok, $failed failed, $skipped skipped"
if [ "$failed" -gt 0 ]; then
    exit 1
fi
if [ "${YISHI_CHECK_STRICT:-0}" = "1" ] && [ "$skipped" -gt 0 ]; then
    echo "check.sh: YISHI_CHECK_STRICT=1 and $skipped check(s) skipped"
    exit 1
fi
