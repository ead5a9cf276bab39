"""deploy/ as the Helm chart charts/readiness renders it with its defaults (release and namespace ``readiness``),
plus the kustomization that lists the files: one source of truth for `kubectl apply -k deploy/` and `helm install`.

Also regenerates the chart's RBAC source, charts/readiness/files/rbac.yaml, as `readiness rbac` prints it for the
chart's example targets.  Run it after changing the chart, the example targets or a probe's declared reads:
    bash scripts/render-deploy.sh
"""

from __future__ import annotations

import re
import sys
import tempfile
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
CHART = ROOT / "charts" / "readiness"
DEPLOY = ROOT / "deploy"
RELEASE = NAMESPACE = "readiness"
# deploy/ ships its Namespace; `helm install --create-namespace` does that for chart users
DEPLOY_VALUES = {"namespace": {"create": True}}
HEAD = "# Generated from charts/readiness by scripts/render-deploy.sh: change the chart, then run it again.\n"


def rbac_text(targets: Path) -> str:
    """What `readiness rbac -t TARGETS` prints (the datastores' variables need not be set)."""
    from readiness import rbac
    from readiness.audit import load_inputs
    from readiness.runner import Options

    inputs = load_inputs(None, str(targets), target_sections=("kubernetes",))
    options = Options(profile=inputs.targets.profile or "production", preset=inputs.targets.preset)
    return rbac.render(rbac.manifests(inputs.checklist, inputs.targets, options))


def render_chart(values: dict | None = None, chart: Path = CHART) -> dict[str, str]:
    """{template file name: YAML text} as the Helm engine renders the chart (release and namespace readiness)."""
    from readiness.clients.chart import render

    with tempfile.TemporaryDirectory() as tmp:
        files = []
        if values:
            path = Path(tmp) / "values.yaml"
            path.write_text(yaml.safe_dump(values))
            files.append(str(path))
        rendered = render({"chart": str(chart), "values": files, "release": RELEASE, "namespace": NAMESPACE},
                          timeout=120)
    out: dict[str, str] = {}
    for where, text in rendered.templates:
        if rendered.engine != "helm":
            out[Path(where).name] = text
            continue
        # `helm template` (a helm binary on PATH): one stream, each document headed by its template's name
        for chunk in re.split(r"(?m)^---\s*\n(?=# Source: )", text):
            found = re.match(r"# Source: (\S+)\n", chunk)
            if found:
                name = Path(found.group(1)).name
                out[name] = out.get(name, "") + "---\n" + chunk
    return {name: text for name, text in out.items() if text.strip()}


def kustomization(names: list[str]) -> str:
    use = ("# kubectl apply -k deploy/   (edit targets.yaml, then `readiness rbac -t deploy/targets.yaml > "
           "deploy/rbac.yaml`;\n# create the readiness-credentials Secret yourself)\n")
    return HEAD + use + yaml.safe_dump({
        "apiVersion": "kustomize.config.k8s.io/v1beta1", "kind": "Kustomization",
        # no `namespace:` here: it would move the Roles of the audited namespaces into this one
        "resources": names,
        "configMapGenerator": [{"name": f"{RELEASE}-config", "namespace": NAMESPACE, "files": ["targets.yaml"],
                                "options": {"labels": {"app.kubernetes.io/name": "readiness"}}}],
        "generatorOptions": {"disableNameSuffixHash": True},
    }, sort_keys=False)


def main() -> int:
    targets = CHART / "files" / "targets.yaml"
    (CHART / "files" / "rbac.yaml").write_text(rbac_text(targets))
    rendered = render_chart(DEPLOY_VALUES)
    rendered.pop("configmap.yaml")  # kustomize generates it from deploy/targets.yaml, which users edit
    for old in DEPLOY.glob("*.yaml"):
        old.unlink()
    order = ["namespace.yaml", "serviceaccount.yaml", "rbac.yaml", "reports-pvc.yaml", "job.yaml", "cronjob.yaml"]
    names = sorted(rendered, key=lambda n: (order.index(n) if n in order else len(order), n))
    for name in names:
        text = rendered[name].lstrip("-\n")
        if name == "rbac.yaml":  # what `readiness rbac -t deploy/targets.yaml > deploy/rbac.yaml` writes
            text = (CHART / "files" / "rbac.yaml").read_text()
        else:
            text = HEAD + "".join(ln + "\n" for ln in text.splitlines() if not ln.startswith("# Source: "))
        (DEPLOY / name).write_text(text)
    (DEPLOY / "targets.yaml").write_text(targets.read_text())
    (DEPLOY / "kustomization.yaml").write_text(kustomization(names))
    print(f"wrote {len(names) + 2} files to {DEPLOY.relative_to(ROOT)}/")
    return 0


if __name__ == "__main__":
    sys.exit(main())
