"""`plan`: one inventory in, a reviewed, reproducible plan directory out.

Writes controlplane.yaml, worker.yaml, nodes/<host>.yaml, secrets.yaml, talosconfig, report.md and
report.json into a staged directory that replaces DIR only when everything succeeded. Re-running with the
same inputs reuses DIR/secrets.yaml and gives byte-identical files.
"""

from __future__ import annotations

import datetime
import os
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from migrate.atomic import SECRET_DIR_MODE, SECRET_FILE_MODE, free_sibling, staged_directory
from migrate.clock import SystemClock
from migrate.errors import UserError
from migrate.mapping.acceptance import Acceptance, Acknowledged, acknowledge
from migrate.mapping.engine import ReadCluster, evaluate
from migrate.mapping.finding import MANUAL, Finding, finding
from migrate.mapping.transforms import MappingContext
from migrate.posture.evaluate import Posture
from migrate.posture.render import posture_data
from migrate.posture.render import to_markdown as posture_to_markdown
from migrate.spec import ClusterSpec
from migrate.talos import report, secrets, validate, versions
from migrate.talos.advisories import Situation, advise
from migrate.talos.merge import apply_patch
from migrate.talos.posture_read import plan_posture
from migrate.talos.render import Rendered, render
from migrate.talos.versions import TalosVersion
from migrate.version import release_of

SECRETS_FILE = "secrets.yaml"
# files that carry keys or tokens: 0600 (the directory itself is 0700)
SECRET_FILES = ("controlplane.yaml", "worker.yaml", SECRETS_FILE, "talosconfig")
PLAN_FILES = (*SECRET_FILES, "report.md", "report.json")  # plus nodes/<host>.yaml
PREVIOUS_SUFFIX = ".previous"  # --force keeps the replaced directory beside it


@dataclass(frozen=True)
class PlanRequest:
    inventory: Path | tuple[Path, ...]  # several paths: a split inventory
    out: Path
    talos_version: str = versions.AUTO
    pki: Path | None = None
    secrets: Path | None = None
    force: bool = False
    kubernetes_version: str | None = None  # preview: the version the cluster will run after Kubespray upgrades
    acceptances: tuple[Acceptance, ...] = ()  # blockers a person has read (--accept, --accept-file)
    today: datetime.date | None = None  # for the acceptances' expiry; None: the system clock's day


@dataclass
class PlanResult:
    out: Path
    talos: TalosVersion
    joinable: bool
    findings: list[Finding]
    report: dict[str, Any]
    problems: list[validate.Problem] = field(default_factory=list)
    previous: Path | None = None  # where --force kept the directory it replaced
    acknowledged: Acknowledged | None = None

    @property
    def blockers(self) -> list[Finding]:
        return [f for f in self.findings if f.severity == "blocker"]


Progress = Callable[[str], None]


def _preview(resolved: ReadCluster, target: str | None) -> tuple[ClusterSpec, Finding | None]:
    """The spec at the Kubernetes version the cluster will run once Kubespray upgraded it, and the blocker that
    says so: a Talos kubelet newer than the running API servers breaks the version-skew policy."""
    spec = resolved.spec
    have, want = release_of(spec.kubernetes_version), release_of(target)
    if target is None or want == have:
        return spec, None
    if want is None or have is None or want < have:
        raise UserError(f"cannot preview Kubernetes {target}: the cluster runs {spec.kubernetes_version}",
                        where="--kubernetes-version",
                        hint="give a full version (1.32.5) at or above the cluster's: a cluster is never downgraded")
    shown = target.lstrip("v")
    steps = [f"{tag} (Kubernetes {kube})" for tag, kube in resolved.kubespray_upgrade(shown) if tag]
    through = f" through {' → '.join(steps)}" if steps else ""
    return replace(spec, kubernetes_version=shown), finding(
        "Kubernetes version (preview)", MANUAL,
        f"This plan previews Kubernetes {shown}; the cluster runs {spec.kubernetes_version}. A kubelet may not be "
        f"newer than the API server, so these configs cannot join the cluster as it is: upgrade it with Kubespray "
        f"first{through} (upgrade-cluster.yml, one minor a step), then plan again without --kubernetes-version.",
        talos_path="machine.kubelet.image, cluster.apiServer.image", severity="blocker", area="kubernetes")


def plan_cluster(resolved: ReadCluster, request: PlanRequest, progress: Progress = lambda _: None) -> PlanResult:
    """The plan for a cluster the Kubespray reader has read (migrate.kubespray.load_cluster's result); reading
    stays with the caller, so talos/ never imports kubespray/."""
    spec, preview = _preview(resolved, request.kubernetes_version)
    talos = versions.choose(request.talos_version, spec.kubernetes_version, resolved.kubespray_upgrade)
    refuse_foreign_files(request)
    bundle = choose_bundle(request, spec.etcd.deployment_type)
    progress(f"rendering Talos {talos.minor} configs for {len(spec.nodes)} nodes")
    etcd = versions.etcd_step(_setting_value(resolved, "etcd_version"), talos)
    rendered = render(spec, bundle, talos, etcd_image_tag=etcd.image_tag)
    ctx = MappingContext(talos=talos.key, talos_etcd=talos.etcd, joinable=bundle.joinable,
                         etcd_advice=(etcd.severity, etcd.reason),
                         encryption_carried=rendered.encryption.carried,
                         encryption_provider=rendered.encryption.provider)
    findings = evaluate(resolved.settings, spec, ctx)
    findings += advise(Situation(spec, resolved.settings, talos, bundle.joinable, resolved.release_reason))
    findings += rendered.findings
    findings += resolved.findings
    findings += [preview] if preview else []
    posture = plan_posture(spec, resolved.settings, rendered.controlplane, talos.kubernetes_documents)
    findings += posture.findings()  # a control Talos would weaken is a manual finding with its patch
    progress("validating documents")
    files = rendered.files()
    problems, schema_state = check_documents(rendered, talos, {n.name for n in spec.control_planes})
    # a plan never holds a document its own validation rejects without saying so where blockers are counted
    findings += [finding(f"Talos document {p.file} [{p.document}] {p.path}", MANUAL,
                         f"Talos {talos.minor} would reject it: {p.message} ({p.rule}).", severity="blocker",
                         area="validation") for p in problems]
    today = request.today or datetime.datetime.fromtimestamp(SystemClock().now(), datetime.UTC).date()
    acknowledged = acknowledge(findings, request.acceptances, today)
    endpoints = [n.ip or n.name for n in spec.control_planes] or [spec.control_plane.endpoint.host]
    meta = {
        "tool": "kubespray2talos plan",
        "cluster": spec.name,
        "kubernetes_version": spec.kubernetes_version,
        "kubespray_release": resolved.release,
        "kubespray_ansible": resolved.kubespray_ansible,  # what its playbooks (remove-node.yml, reset.yml) need
        "talos": {"version": talos.minor, "release": talos.release, "kubernetes_range": talos.kubernetes_range,
                  "installer": talos.installer_image},
        "joinable": bundle.joinable,
        "endpoint": spec.control_plane.endpoint.url,
        "nodes": [{"name": n.name, "role": "controlplane" if n.is_control_plane else "worker", "ip": n.ip,
                   "patch": f"nodes/{n.name}.yaml"} for n in spec.nodes],
        "validation": {"schema": schema_state, "talosctl": "not installed", "problems": [str(p) for p in problems]},
        "warnings": list(resolved.warnings),
    }
    previous = free_sibling(request.out, PREVIOUS_SUFFIX) if request.force and request.out.exists() else None
    with staged_directory(request.out, mode=SECRET_DIR_MODE, keep_old_as=previous) as stage:
        (stage / "nodes").mkdir(mode=SECRET_DIR_MODE)
        for name, text in files.items():
            _write_staged(stage / name, text, SECRET_FILE_MODE if name in SECRET_FILES else 0o644)
        _write_staged(stage / SECRETS_FILE, bundle.to_yaml(), SECRET_FILE_MODE)
        _write_staged(stage / "talosconfig", secrets.talosconfig(bundle, context=spec.name, endpoints=endpoints),
                      SECRET_FILE_MODE)
        checked = validate.talosctl_validate([stage / "controlplane.yaml", stage / "worker.yaml"])
        if checked is not None:
            problems += checked
            meta["validation"]["talosctl"] = "ok" if not checked else "failed"
            meta["validation"]["problems"] = [str(p) for p in problems]
        data = with_posture(report.report_data(meta, findings, acknowledged), posture, spec.name, request.out)
        _write_staged(stage / "report.json", report.to_json(data), 0o644)
        _write_staged(stage / "report.md", report.to_markdown(data) + posture_markdown(data), 0o644)
        os.sync()  # one flush for the whole stage before it replaces DIR (an fsync per patch costs seconds)
    return PlanResult(request.out, talos, bundle.joinable, findings, data, problems, previous, acknowledged)


def with_posture(data: dict[str, Any], posture: Posture, cluster: str, out: Path) -> dict[str, Any]:
    """report.json's `posture`: every CIS control before (the inventory) and after (the documents read back)."""
    return {**data, "posture": posture_data(posture, f"Kubespray cluster {cluster}", f"plan {out.name}/")}


def posture_markdown(data: dict[str, Any]) -> str:
    """report.md's posture section, after the verdicts."""
    return "\n" + posture_to_markdown(data["posture"], heading="##")


def _setting_value(resolved: ReadCluster, name: str) -> str | None:
    setting = resolved.settings.get(name)
    return None if setting is None or setting.value is None else str(setting.value)


def _write_staged(path: Path, text: str, mode: int) -> None:
    """Create a file in the private stage with its final mode before any byte lands (the stage is renamed as one)."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode)
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        fh.write(text)


def foreign_files(out: Path) -> list[str]:
    """Files in DIR that a plan does not write (a reviewer's notes, another tool's output): never deleted silently."""
    if not out.is_dir():
        return []
    found = []
    for path in sorted(out.rglob("*")):
        name = path.relative_to(out).as_posix()
        ours = name in PLAN_FILES or name == "nodes" or (
            path.parent == out / "nodes" and path.suffix == ".yaml" and path.is_file())
        if not ours and not (path.is_dir() and any(path.iterdir())):
            found.append(name)
    return found


def refuse_foreign_files(request: PlanRequest) -> None:
    foreign = foreign_files(request.out)
    if foreign and not request.force:
        shown = ", ".join(foreign[:10]) + (f" and {len(foreign) - 10} more" if len(foreign) > 10 else "")
        raise UserError(f"the output directory holds files a plan does not write: {shown}", where=str(request.out),
                        hint=f"move them away or choose another --out; --force replaces the directory and keeps it "
                             f"as {request.out.name}{PREVIOUS_SUFFIX}")


def choose_bundle(request: PlanRequest, etcd_deployment_type: str) -> Any:
    """--secrets FILE, else the cluster's PKI, else DIR/secrets.yaml from an earlier run, else a fresh bundle.
    An existing plan directory whose secrets differ is refused unless --force: a bundle is never replaced silently."""
    existing_file = request.out / SECRETS_FILE
    existing = _existing_bundle(existing_file, request.force)
    if existing is None and request.out.exists() and any(request.out.iterdir()) and not request.force:
        raise UserError("the output directory exists and is not a plan directory (no secrets.yaml)",
                        where=str(request.out), hint="choose an empty or new directory, or pass --force to replace it")
    if request.secrets is not None:
        wanted = secrets.load_bundle(request.secrets)
    elif request.pki is not None:
        wanted = secrets.import_pki(request.pki, etcd_deployment_type=etcd_deployment_type)
        if existing is not None and same_identity(existing, wanted):
            return existing  # same cluster identity: keep the earlier tokens so the output stays byte-identical
    else:
        return existing or secrets.generate_bundle()
    if existing is not None and existing.to_yaml() != wanted.to_yaml() and not request.force:
        raise UserError(
            "the output directory holds a different secrets bundle than this run would use",
            where=str(existing_file),
            hint=f"use another --out directory, or --force to replace the plan (the old one, secrets.yaml included, "
                 f"is kept as {request.out.name}{PREVIOUS_SUFFIX})",
        )
    return wanted


def _existing_bundle(path: Path, force: bool) -> Any:
    """DIR/secrets.yaml from an earlier plan; with --force one that is not a bundle is only kept in the backup."""
    if not path.is_file():
        return None
    try:
        return secrets.load_bundle(path)
    except UserError:
        if force:
            return None
        raise


def same_identity(a: Any, b: Any) -> bool:
    """Same cluster CAs, service-account key and encryption config: the Talos-only parts may differ."""
    return (
        a.joinable == b.joinable
        and a.encryption_config == b.encryption_config
        and all(getattr(a, n) == getattr(b, n) for n in ("etcd", "k8s", "k8s_aggregator", "k8s_service_account"))
    )


def check_documents(rendered: Rendered, talos: TalosVersion,
                    control_planes: set[str]) -> tuple[list[validate.Problem], str]:
    """Validate what each node will run: the base configs, and each node's patch applied to its base (a patch
    is not a whole document: a 1.14 KubeletConfig patch carrying only labels merges into the base's, image and
    all), reporting for a node only what its patch adds."""
    schemas = validate.schema_dir()
    problems = validate.validate("controlplane.yaml", rendered.controlplane, talos, schemas)
    problems += validate.validate("worker.yaml", rendered.worker, talos, schemas)
    known = {(p.document, p.path, p.message) for p in problems}
    for name, docs in sorted(rendered.nodes.items()):
        base = rendered.controlplane if name in control_planes else rendered.worker
        merged = apply_patch(base, docs, where=f"nodes/{name}.yaml")
        problems += [p for p in validate.validate(f"nodes/{name}.yaml", merged, talos, schemas)
                     if (p.document, p.path, p.message) not in known]
    state = f"checked against Talos {talos.release} schema" if schemas else "skipped (schemas not available)"
    return problems, state
