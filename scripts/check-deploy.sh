#!/usr/bin/env bash
# Checks everything slowburn ships besides the binary, without a Docker engine or a cluster:
# the Dockerfile, the workflows, the compose stack and its configs, the Kubernetes manifests and the
# systemd unit. Part of the test command (scripts/test.sh); each tool comes from
# scripts/install-test-deps.sh, and a missing one fails the check rather than skipping it.
set -euo pipefail
cd "$(dirname "$0")/.."
fail() { echo "check-deploy: $*" >&2; exit 1; }
need() { command -v "$1" >/dev/null || fail "$1 is missing (scripts/install-test-deps.sh installs it)"; }
for tool in hadolint actionlint promtool amtool docker-compose kubernetes-validate systemd-analyze python3; do
  need "$tool"
done
cargo build -q --bin slowburn
SLOWBURN="$PWD/target/debug/slowburn"
TMP="$(mktemp -d)"
trap 'rm -rf "$TMP"' EXIT

echo ">> hadolint docker/Dockerfile"
hadolint docker/Dockerfile
echo ">> actionlint .github/workflows"
actionlint
echo ">> promtool check rules / config"
promtool check rules docker/slowburn-rules.yml
promtool check config docker/prometheus.yml
echo ">> amtool check-config docker/alertmanager.yml"
amtool check-config docker/alertmanager.yml
echo ">> docker-compose config (Debian's docker-compose $(docker-compose version --short))"
printf 'SLOWBURN_API_TOKEN=%s\nGRAFANA_ADMIN_PASSWORD=%s\n' "$(head -c 16 /dev/urandom | od -An -tx1 | tr -d ' \n')" "check-$RANDOM" > "$TMP/ci.env"
docker-compose --project-directory docker -f docker/compose.yaml --env-file "$TMP/ci.env" config -q
# No secret has a default: the committed example (empty values) must be refused.
if docker-compose --project-directory docker -f docker/compose.yaml --env-file docker/.env.example config -q 2>"$TMP/err"; then
  fail "compose.yaml starts with the empty secrets of .env.example"
fi
grep -q "set SLOWBURN_API_TOKEN in docker/.env" "$TMP/err" || fail "unexpected refusal: $(cat "$TMP/err")"
if git grep -n -I -E '(PASSWORD|TOKEN|SECRET)[A-Z_]*[:=] *[^ ?$"{]' -- docker deploy | grep -v -E '^\S+:[0-9]+:\s*#'; then
  fail "a secret value is committed under docker/ or deploy/"
fi
echo ">> slowburn validate: slo.yaml, docker/slo.yaml, the Kubernetes ConfigMap's slo.yaml"
"$SLOWBURN" validate --config slo.yaml
"$SLOWBURN" validate --config docker/slo.yaml
python3 - "$TMP/k8s-slo.yaml" <<'PY'
import sys, yaml
docs = [d for d in yaml.safe_load_all(open("deploy/kubernetes/slowburn.yaml")) if d]
cm = next(d for d in docs if d["kind"] == "ConfigMap" and d["metadata"]["name"] == "slowburn-slos")
open(sys.argv[1], "w").write(cm["data"]["slo.yaml"])
PY
"$SLOWBURN" validate --config "$TMP/k8s-slo.yaml"
echo ">> kubernetes-validate --strict deploy/kubernetes (Kubernetes $(kubernetes-validate --version 2>&1 | tail -1))"
kubernetes-validate --strict --quiet deploy/kubernetes/slowburn.yaml
# The ServiceMonitor is a CRD the core schemas do not hold: check what would break it.
python3 - <<'PY'
import sys, yaml
docs = [d for d in yaml.safe_load_all(open("deploy/kubernetes/slowburn.yaml")) if d]
sm = yaml.safe_load(open("deploy/kubernetes/servicemonitor.yaml"))
svc = next(d for d in docs if d["kind"] == "Service" and d["metadata"]["name"] == "slowburn")
dep = next(d for d in docs if d["kind"] == "Deployment")
assert sm["apiVersion"] == "monitoring.coreos.com/v1" and sm["kind"] == "ServiceMonitor", "kind"
want = sm["spec"]["selector"]["matchLabels"]
assert all(svc["metadata"]["labels"].get(k) == v for k, v in want.items()), f"{want} does not select the Service"
ports = {p["name"] for p in svc["spec"]["ports"]}
for e in sm["spec"]["endpoints"]:
    assert e["port"] in ports, f"endpoint port {e['port']} is not a Service port {ports}"
pod = dep["spec"]["template"]
assert all(pod["metadata"]["labels"].get(k) == v for k, v in svc["spec"]["selector"].items()), "Service selects no pod"
sb = next(c for c in pod["spec"]["containers"] if c["name"] == "slowburn")
# Liveness on /healthz; no readiness probe (a backfill's 503 would take Prometheus out too).
assert sb["livenessProbe"]["httpGet"]["path"] == "/healthz" and "readinessProbe" not in sb
assert sb["securityContext"]["runAsUser"] != 0 and pod["spec"]["securityContext"]["runAsNonRoot"]
print("deploy/kubernetes/servicemonitor.yaml selects the slowburn Service and its metrics port")
PY
echo ">> systemd-analyze verify deploy/systemd/slowburn.service"
# verify needs ExecStart's binary to exist; it reports problems as output with exit code 0.
sed "s|/usr/local/bin/slowburn|$SLOWBURN|" deploy/systemd/slowburn.service > "$TMP/slowburn.service"
out="$(systemd-analyze verify "$TMP/slowburn.service" 2>&1)" || fail "$out"
[ -z "$out" ] || fail "systemd-analyze verify: $out"
systemd-analyze security --offline=true "$TMP/slowburn.service" 2>/dev/null | tail -1
echo "check-deploy: all passed"
