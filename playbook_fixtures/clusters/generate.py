"""Regenerate the cluster snapshots: `python playbook_fixtures/clusters/generate.py` (deterministic).

Each snapshot is the running state of the fixture inventory of the same name (same hosts, addresses,
CIDRs, versions, CNI and proxy mode) as `kubespray2talos snapshot` would capture it.
"""

from __future__ import annotations

import hashlib
import ipaddress
import json
import random
import sys
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parents[1]))

from migrate.cluster.snapshot import new_snapshot, qualified  # noqa: E402

CREATED = "2026-09-01T08:00:00Z"
CAPTURED = "2026-11-20T12:00:00Z"
NAME_ALPHABET = "bcdfghjklmnpqrstvwxz2456789"
CP_TAINT = {"key": "node-role.kubernetes.io/control-plane", "effect": "NoSchedule"}
CP_TOLERATION = {"key": "node-role.kubernetes.io/control-plane", "operator": "Exists", "effect": "NoSchedule"}


def uid(*parts: str) -> str:
    return str(uuid.uuid5(uuid.NAMESPACE_URL, "/".join(parts)))


def suffix(seed: str, length: int) -> str:
    digest = hashlib.sha256(seed.encode()).digest()
    return "".join(NAME_ALPHABET[b % len(NAME_ALPHABET)] for b in digest[:length])


@dataclass
class Cluster:
    name: str
    version: str
    cni: str = "calico"
    pod_cidr: str = "10.233.64.0/18"
    service_cidr: str = "10.233.0.0/18"
    node_prefix: int = 24
    max_pods: int = 110
    objects: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    nodes: list[dict[str, Any]] = field(default_factory=list)
    workers: list[str] = field(default_factory=list)
    rng: random.Random = field(default_factory=lambda: random.Random(7))

    def add(self, group: str, plural: str, obj: dict[str, Any]) -> dict[str, Any]:
        self.objects.setdefault(qualified(group, plural), []).append(obj)
        return obj

    def namespace(self, name: str) -> None:
        if any(n["metadata"]["name"] == name for n in self.objects.get("namespaces", [])):
            return
        self.add("", "namespaces", {"apiVersion": "v1", "kind": "Namespace",
                                    "metadata": {"name": name, "uid": uid(self.name, "ns", name), "creationTimestamp": CREATED,
                                                 "labels": {"kubernetes.io/metadata.name": name}},
                                    "spec": {"finalizers": ["kubernetes"]}, "status": {"phase": "Active"}})

    # --- nodes ---------------------------------------------------------------------------------
    def node(self, name: str, ip: str, control_plane: bool, labels: dict[str, str] | None = None,
             os_image: str = "Ubuntu 22.04.5 LTS", cpu: str = "8", memory: str = "32Gi") -> None:
        index = len(self.nodes)
        net = ipaddress.ip_network(self.pod_cidr)
        pod_cidr = str(list(net.subnets(new_prefix=self.node_prefix))[index])
        node_labels = {"kubernetes.io/hostname": name, "kubernetes.io/os": "linux", "kubernetes.io/arch": "amd64",
                       "beta.kubernetes.io/os": "linux", "beta.kubernetes.io/arch": "amd64", **(labels or {})}
        if control_plane:
            node_labels["node-role.kubernetes.io/control-plane"] = ""
            node_labels["node.kubernetes.io/exclude-from-external-load-balancers"] = ""
        else:
            self.workers.append(name)
        alloc_mem = f"{int(memory[:-2]) * 1024 - 512}Mi"
        self.nodes.append(self.add("", "nodes", {
            "apiVersion": "v1", "kind": "Node",
            "metadata": {"name": name, "uid": uid(self.name, "node", name), "creationTimestamp": CREATED, "labels": node_labels,
                         "annotations": {"node.alpha.kubernetes.io/ttl": "0", "volumes.kubernetes.io/controller-managed-attach-detach": "true"}},
            # Calico's own IPAM (Kubespray's default) leaves node podCIDRs unallocated
            "spec": {**({"podCIDR": pod_cidr, "podCIDRs": [pod_cidr]} if self.cni != "calico" else {}),
                     **({"taints": [CP_TAINT]} if control_plane else {})},
            "status": {
                "addresses": [{"type": "InternalIP", "address": ip}, {"type": "Hostname", "address": name}],
                "capacity": {"cpu": cpu, "memory": memory, "pods": str(self.max_pods), "ephemeral-storage": "101430960Ki"},
                "allocatable": {"cpu": cpu, "memory": alloc_mem,
                                "pods": str(self.max_pods), "ephemeral-storage": "93478772582"},
                "conditions": [
                    {"type": t, "status": "False", "reason": r, "message": m, "lastHeartbeatTime": CAPTURED, "lastTransitionTime": CREATED}
                    for t, r, m in (("MemoryPressure", "KubeletHasSufficientMemory", "kubelet has sufficient memory available"),
                                    ("DiskPressure", "KubeletHasNoDiskPressure", "kubelet has no disk pressure"),
                                    ("PIDPressure", "KubeletHasSufficientPID", "kubelet has sufficient PID available"))
                ] + [{"type": "Ready", "status": "True", "reason": "KubeletReady", "message": "kubelet is posting ready status",
                      "lastHeartbeatTime": CAPTURED, "lastTransitionTime": CREATED}],
                "nodeInfo": {"kubeletVersion": self.version, "kubeProxyVersion": self.version, "osImage": os_image,
                             "kernelVersion": "5.15.0-125-generic", "containerRuntimeVersion": "containerd://1.7.23",
                             "operatingSystem": "linux", "architecture": "amd64",
                             "machineID": uuid.UUID(uid(self.name, "machine", name)).hex, "systemUUID": uid(self.name, "sys", name),
                             "bootID": uid(self.name, "boot", name)},
            },
        }))

    def address_of(self, node: str) -> str:
        n = next(n for n in self.nodes if n["metadata"]["name"] == node)
        return n["status"]["addresses"][0]["address"]

    # --- pods ----------------------------------------------------------------------------------
    def pod(self, ns: str, name: str, node: str, spec: dict[str, Any], labels: dict[str, str],
            owner: dict[str, Any] | None = None, host_network: bool = False, annotations: dict[str, str] | None = None) -> None:
        self.namespace(ns)
        node_obj = next(n for n in self.nodes if n["metadata"]["name"] == node)
        index = self.nodes.index(node_obj)
        base = list(ipaddress.ip_network(self.pod_cidr).subnets(new_prefix=self.node_prefix))[index]
        ip = self.address_of(node) if host_network else str(base[2 + int(hashlib.sha256(f"{ns}/{name}".encode()).hexdigest(), 16) % (base.num_addresses - 4)])
        spec = json.loads(json.dumps(spec))
        spec.update(nodeName=node, schedulerName="default-scheduler", restartPolicy="Always", dnsPolicy="ClusterFirst",
                    serviceAccountName=spec.get("serviceAccountName", "default"))
        spec.setdefault("terminationGracePeriodSeconds", 30)
        if host_network:
            spec["hostNetwork"] = True
        meta: dict[str, Any] = {"name": name, "namespace": ns, "uid": uid(self.name, "pod", ns, name), "creationTimestamp": CREATED,
                                "labels": labels}
        if owner:
            meta["ownerReferences"] = [{"apiVersion": owner["apiVersion"], "kind": owner["kind"], "name": owner["metadata"]["name"],
                                        "uid": owner["metadata"]["uid"], "controller": True, "blockOwnerDeletion": True}]
        if annotations:
            meta["annotations"] = annotations
        containers = spec["containers"]
        self.add("", "pods", {
            "apiVersion": "v1", "kind": "Pod", "metadata": meta, "spec": spec,
            "status": {"phase": "Running", "hostIP": self.address_of(node), "hostIPs": [{"ip": self.address_of(node)}],
                       "podIP": ip, "podIPs": [{"ip": ip}], "startTime": CREATED,
                       "qosClass": "Burstable" if any(c.get("resources", {}).get("requests") for c in containers) else "BestEffort",
                       "conditions": [{"type": t, "status": "True", "lastTransitionTime": CREATED}
                                      for t in ("PodReadyToStartContainers", "Initialized", "Ready", "ContainersReady", "PodScheduled")],
                       "containerStatuses": [{"name": c["name"], "image": c["image"], "imageID": "", "ready": True, "started": True,
                                              "restartCount": 0, "state": {"running": {"startedAt": CREATED}}} for c in containers]},
        })

    def workload(self, group: str, plural: str, kind: str, ns: str, name: str, spec: dict[str, Any], status: dict[str, Any]) -> dict[str, Any]:
        self.namespace(ns)
        return self.add(group, plural, {"apiVersion": f"{group}/v1", "kind": kind,
                                        "metadata": {"name": name, "namespace": ns, "uid": uid(self.name, kind, ns, name),
                                                     "creationTimestamp": CREATED, "generation": 1, "labels": dict(spec["selector"]["matchLabels"])},
                                        "spec": spec, "status": {"observedGeneration": 1, **status}})

    def deployment(self, ns: str, name: str, replicas: int, image: str, *, cpu: str = "100m", memory: str = "128Mi",
                   nodes: list[str] | None = None, emptydir: bool = False, tolerations: list[dict[str, Any]] | None = None,
                   node_selector: dict[str, str] | None = None, labels: dict[str, str] | None = None) -> None:
        labels = labels or {"app.kubernetes.io/name": name}
        pod_spec = container_spec(name, image, cpu, memory, emptydir)
        if tolerations:
            pod_spec["tolerations"] = tolerations
        if node_selector:
            pod_spec["nodeSelector"] = node_selector
        template = {"metadata": {"labels": dict(labels)}, "spec": pod_spec}
        deploy = self.workload("apps", "deployments", "Deployment", ns, name, {
            "replicas": replicas, "selector": {"matchLabels": dict(labels)}, "template": template,
            "strategy": {"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": "25%", "maxSurge": "25%"}},
            "revisionHistoryLimit": 10, "progressDeadlineSeconds": 600,
        }, {"replicas": replicas, "updatedReplicas": replicas, "readyReplicas": replicas, "availableReplicas": replicas})
        h = suffix(f"{ns}/{name}/template", 10)
        rs_labels = {**labels, "pod-template-hash": h}
        rs = self.workload("apps", "replicasets", "ReplicaSet", ns, f"{name}-{h}", {
            "replicas": replicas, "selector": {"matchLabels": dict(rs_labels)},
            "template": {"metadata": {"labels": dict(rs_labels)}, "spec": pod_spec},
        }, {"replicas": replicas, "fullyLabeledReplicas": replicas, "readyReplicas": replicas, "availableReplicas": replicas})
        rs["metadata"]["ownerReferences"] = [{"apiVersion": "apps/v1", "kind": "Deployment", "name": name, "uid": deploy["metadata"]["uid"],
                                              "controller": True, "blockOwnerDeletion": True}]
        rs["metadata"]["annotations"] = {"deployment.kubernetes.io/desired-replicas": str(replicas), "deployment.kubernetes.io/revision": "1"}
        placement = nodes or self.workers
        start = self.rng.randrange(len(placement))
        for i in range(replicas):
            pod_name = f"{rs['metadata']['name']}-{suffix(f'{ns}/{name}/{i}', 5)}"
            self.pod(ns, pod_name, placement[(start + i) % len(placement)], pod_spec, dict(rs_labels), rs)

    def statefulset(self, ns: str, name: str, replicas: int, image: str = "docker.io/library/postgres:16.4", *, cpu: str = "250m", memory: str = "512Mi") -> None:
        labels = {"app.kubernetes.io/name": name}
        pod_spec = container_spec(name, image, cpu, memory, False)
        sts = self.workload("apps", "statefulsets", "StatefulSet", ns, name, {
            "replicas": replicas, "serviceName": name, "selector": {"matchLabels": dict(labels)},
            "template": {"metadata": {"labels": dict(labels)}, "spec": pod_spec}, "podManagementPolicy": "OrderedReady",
            "updateStrategy": {"type": "RollingUpdate", "rollingUpdate": {"partition": 0}},
        }, {"replicas": replicas, "readyReplicas": replicas, "currentReplicas": replicas, "updatedReplicas": replicas, "availableReplicas": replicas})
        start = self.rng.randrange(len(self.workers))
        for i in range(replicas):
            spec = {**pod_spec, "hostname": f"{name}-{i}", "subdomain": name}
            self.pod(ns, f"{name}-{i}", self.workers[(start + i * 7) % len(self.workers)], spec,
                     {**labels, "statefulset.kubernetes.io/pod-name": f"{name}-{i}", "apps.kubernetes.io/pod-index": str(i)}, sts)

    def daemonset(self, ns: str, name: str, image: str, *, host_network: bool = True, node_selector: dict[str, str] | None = None,
                  tolerate_all: bool = True, labels: dict[str, str] | None = None) -> None:
        labels = labels or {"k8s-app": name}
        pod_spec = container_spec(name, image, "100m", "64Mi", False)
        pod_spec["priorityClassName"] = "system-node-critical"
        if tolerate_all:
            pod_spec["tolerations"] = [{"operator": "Exists"}]
        if node_selector:
            pod_spec["nodeSelector"] = node_selector
        if host_network:
            pod_spec["hostNetwork"] = True
        eligible = [n["metadata"]["name"] for n in self.nodes
                    if all(n["metadata"]["labels"].get(k) == v for k, v in (node_selector or {}).items())
                    and (tolerate_all or not n["spec"].get("taints"))]
        ds = self.workload("apps", "daemonsets", "DaemonSet", ns, name, {
            "selector": {"matchLabels": dict(labels)}, "template": {"metadata": {"labels": dict(labels)}, "spec": pod_spec},
            "updateStrategy": {"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": 1, "maxSurge": 0}},
        }, {"desiredNumberScheduled": len(eligible), "currentNumberScheduled": len(eligible), "updatedNumberScheduled": len(eligible),
            "numberReady": len(eligible), "numberAvailable": len(eligible), "numberMisscheduled": 0})
        for node in eligible:
            self.pod(ns, f"{name}-{suffix(f'{ns}/{name}/{node}', 5)}", node, pod_spec, dict(labels), ds, host_network=host_network)

    def static_pods(self, node: str) -> None:
        for component in ("kube-apiserver", "kube-controller-manager", "kube-scheduler"):
            spec = container_spec(component, f"registry.k8s.io/{component}:{self.version}", "200m", "256Mi", False)
            spec["priorityClassName"] = "system-node-critical"
            spec["tolerations"] = [{"operator": "Exists", "effect": "NoExecute"}]
            owner = next(n for n in self.nodes if n["metadata"]["name"] == node)
            self.pod("kube-system", f"{component}-{node}", node, spec, {"component": component, "tier": "control-plane"},
                     {"apiVersion": "v1", "kind": "Node", "metadata": owner["metadata"]}, host_network=True,
                     annotations={"kubernetes.io/config.mirror": suffix(component + node, 32), "kubernetes.io/config.source": "file"})

    def bare_pod(self, ns: str, name: str, node: str, image: str, emptydir: bool = False) -> None:
        self.pod(ns, name, node, container_spec(name, image, "50m", "64Mi", emptydir), {"run": name})

    def pdb(self, ns: str, name: str, selector: dict[str, str], *, min_available: int | str | None = None,
            max_unavailable: int | str | None = None, policy: str | None = None) -> None:
        spec: dict[str, Any] = {"selector": {"matchLabels": selector}}
        if min_available is not None:
            spec["minAvailable"] = min_available
        if max_unavailable is not None:
            spec["maxUnavailable"] = max_unavailable
        if policy:
            spec["unhealthyPodEvictionPolicy"] = policy
        self.add("policy", "poddisruptionbudgets", {"apiVersion": "policy/v1", "kind": "PodDisruptionBudget",
                                                    "metadata": {"name": name, "namespace": ns, "uid": uid(self.name, "pdb", ns, name),
                                                                 "creationTimestamp": CREATED, "generation": 1}, "spec": spec})

    def configmap(self, ns: str, name: str, data: dict[str, str]) -> None:
        self.add("", "configmaps", {"apiVersion": "v1", "kind": "ConfigMap",
                                    "metadata": {"name": name, "namespace": ns, "uid": uid(self.name, "cm", ns, name), "creationTimestamp": CREATED},
                                    "data": data})

    def service(self, ns: str, name: str, selector: dict[str, str] | None, cluster_ip: str,
                ports: list[dict[str, Any]], labels: dict[str, str] | None = None) -> None:
        self.add("", "services", {"apiVersion": "v1", "kind": "Service",
                                  "metadata": {"name": name, "namespace": ns, "uid": uid(self.name, "svc", ns, name),
                                               "creationTimestamp": CREATED, "labels": labels or {}},
                                  "spec": {"type": "ClusterIP", "clusterIP": cluster_ip, "clusterIPs": [cluster_ip],
                                           "ipFamilies": ["IPv4"], "ipFamilyPolicy": "SingleStack",
                                           "sessionAffinity": "None", "ports": ports,
                                           **({"selector": selector} if selector else {})}})

    def service_ip(self, offset: int) -> str:
        return str(ipaddress.ip_network(self.service_cidr).network_address + offset)

    def snapshot(self) -> dict[str, Any]:
        return new_snapshot(self.objects, capturedAt=CAPTURED, server="https://" + self.endpoint, kubernetesVersion=self.version,
                            source=f"playbook_fixtures/clusters/generate.py ({self.name})")

    endpoint = ""


def container_spec(name: str, image: str, cpu: str, memory: str, emptydir: bool) -> dict[str, Any]:
    container: dict[str, Any] = {"name": name.split(".")[0][:63], "image": image, "imagePullPolicy": "IfNotPresent",
                                 "resources": {"requests": {"cpu": cpu, "memory": memory}},
                                 "terminationMessagePath": "/dev/termination-log", "terminationMessagePolicy": "File"}
    spec: dict[str, Any] = {"containers": [container]}
    if emptydir:
        container["volumeMounts"] = [{"name": "scratch", "mountPath": "/scratch"}]
        spec["volumes"] = [{"name": "scratch", "emptyDir": {}}]
    return spec


def kubeadm_configmaps(c: Cluster, *, endpoint: str, proxy_mode: str, feature_gates: dict[str, bool], extra_api_args: dict[str, str],
                       cert_sans: list[str], cluster_dns: str = "169.254.25.10") -> None:
    control_planes = sorted(x["metadata"]["name"] for x in c.nodes if "node-role.kubernetes.io/control-plane" in x["metadata"]["labels"])
    v1beta4 = tuple(int(x) for x in c.version.lstrip("v").split(".")[:2]) >= (1, 31)  # Kubespray's template switch

    def args(values: dict[str, str]) -> Any:
        """kubeadm v1beta4 lists {name, value}; v1beta3 keeps a map."""
        return [{"name": k, "value": v} for k, v in values.items()] if v1beta4 else dict(values)

    first = control_planes[0]  # kubeadm-config is uploaded by the first control plane
    cluster_config = {
        "apiVersion": f"kubeadm.k8s.io/{'v1beta4' if v1beta4 else 'v1beta3'}", "kind": "ClusterConfiguration",
        "clusterName": "cluster.local", "kubernetesVersion": c.version, "controlPlaneEndpoint": endpoint,
        "certificatesDir": "/etc/kubernetes/ssl", "imageRepository": "registry.k8s.io",
        "networking": {"dnsDomain": "cluster.local", "podSubnet": c.pod_cidr, "serviceSubnet": c.service_cidr},
        "etcd": {"external": {"endpoints": [f"https://{c.address_of(n)}:2379" for n in control_planes],
                              "caFile": "/etc/ssl/etcd/ssl/ca.pem", "certFile": f"/etc/ssl/etcd/ssl/node-{first}.pem",
                              "keyFile": f"/etc/ssl/etcd/ssl/node-{first}-key.pem"}},
        "apiServer": {"certSANs": cert_sans, "extraArgs": args(dict(sorted(extra_api_args.items())))},
        # Kubespray's template: Calico allocates pod addresses itself, other CNIs get node CIDRs from the KCM
        "controllerManager": {"extraArgs": args({"cluster-cidr": c.pod_cidr, "service-cluster-ip-range": c.service_cidr,
                                                 **({"allocate-node-cidrs": "false"} if c.cni == "calico"
                                                    else {"node-cidr-mask-size-ipv4": str(c.node_prefix)})})},
        "scheduler": {"extraArgs": args({"bind-address": "0.0.0.0"})},
        "dns": {"disabled": True}, "proxy": {"disabled": True},
    }
    if feature_gates:
        cluster_config["featureGates"] = feature_gates
    c.configmap("kube-system", "kubeadm-config", {"ClusterConfiguration": yaml.safe_dump(cluster_config, sort_keys=False)})
    kubelet = {"apiVersion": "kubelet.config.k8s.io/v1beta1", "kind": "KubeletConfiguration", "clusterDNS": [cluster_dns],
               "clusterDomain": "cluster.local", "cgroupDriver": "systemd", "maxPods": c.max_pods, "staticPodPath": "/etc/kubernetes/manifests",
               "rotateCertificates": True, "authentication": {"anonymous": {"enabled": False}, "webhook": {"enabled": True}},
               "authorization": {"mode": "Webhook"}}
    c.configmap("kube-system", "kubelet-config", {"kubelet": yaml.safe_dump(kubelet, sort_keys=False)})
    proxy = {"apiVersion": "kubeproxy.config.k8s.io/v1alpha1", "kind": "KubeProxyConfiguration", "mode": proxy_mode,
             "clusterCIDR": c.pod_cidr, "bindAddress": "0.0.0.0", "metricsBindAddress": "127.0.0.1:10249",
             "ipvs": {"scheduler": "rr", "strictARP": False, "syncPeriod": "30s"}, "iptables": {"masqueradeAll": False, "syncPeriod": "30s"},
             "clientConnection": {"kubeconfig": "/var/lib/kube-proxy/kubeconfig.conf"}}
    c.configmap("kube-system", "kube-proxy", {"config.conf": yaml.safe_dump(proxy, sort_keys=False)})


def system_addons(c: Cluster, cni: str) -> None:
    control_planes = [n["metadata"]["name"] for n in c.nodes if "node-role.kubernetes.io/control-plane" in n["metadata"]["labels"]]
    for cp in control_planes:
        c.static_pods(cp)
    if cni == "calico":
        c.daemonset("kube-system", "calico-node", "quay.io/calico/node:v3.28.1")
        c.deployment("kube-system", "calico-kube-controllers", 1, "quay.io/calico/kube-controllers:v3.28.1",
                     nodes=control_planes, tolerations=[CP_TOLERATION], labels={"k8s-app": "calico-kube-controllers"})
    else:
        c.daemonset("kube-system", "cilium", "quay.io/cilium/cilium:v1.15.9")
        c.deployment("kube-system", "cilium-operator", 2, "quay.io/cilium/operator:v1.15.9", nodes=control_planes,
                     tolerations=[CP_TOLERATION], labels={"io.cilium/app": "operator", "name": "cilium-operator"})
    c.daemonset("kube-system", "kube-proxy", f"registry.k8s.io/kube-proxy:{c.version}")
    c.daemonset("kube-system", "nodelocaldns", "registry.k8s.io/dns/k8s-dns-node-cache:1.23.1")
    c.deployment("kube-system", "coredns", 2, "registry.k8s.io/coredns/coredns:v1.11.3", labels={"k8s-app": "kube-dns"},
                 tolerations=[CP_TOLERATION], nodes=control_planes)
    c.pdb("kube-system", "coredns", {"k8s-app": "kube-dns"}, min_available=1)
    # the API server's own Service (the range's first address) and Kubespray's skydns_server (its third)
    c.service("default", "kubernetes", None, c.service_ip(1), [{"name": "https", "port": 443, "protocol": "TCP",
                                                                "targetPort": 6443}],
              labels={"component": "apiserver", "provider": "kubernetes"})
    c.service("kube-system", "coredns", {"k8s-app": "kube-dns"}, c.service_ip(3),
              [{"name": "dns", "port": 53, "protocol": "UDP", "targetPort": 53},
               {"name": "dns-tcp", "port": 53, "protocol": "TCP", "targetPort": 53},
               {"name": "metrics", "port": 9153, "protocol": "TCP", "targetPort": 9153}],
              labels={"k8s-app": "kube-dns", "kubernetes.io/name": "coredns"})
    c.deployment("kube-system", "dns-autoscaler", 1, "registry.k8s.io/cpa/cluster-proportional-autoscaler:v1.8.8",
                 labels={"k8s-app": "dns-autoscaler"}, tolerations=[CP_TOLERATION], nodes=control_planes)


def demo() -> Cluster:
    c = Cluster("demo", "v1.31.4")
    c.endpoint = "k8s-api.demo.internal:6443"
    for i in (1, 2, 3):
        c.node(f"cp{i}", f"10.0.10.1{i}", True)
    for i in (1, 2, 3):
        labels = {"node.kubernetes.io/disk": "nvme", "demo.internal/ingress": "true"} if i == 3 else {}
        c.node(f"w{i}", f"10.0.10.2{i}", False, labels)
    kubeadm_configmaps(c, endpoint=c.endpoint, proxy_mode="ipvs", feature_gates={"InPlacePodVerticalScaling": True},
                       extra_api_args={"encryption-provider-config": "/etc/kubernetes/ssl/secrets_encryption.yaml",
                                       "anonymous-auth": "True", "event-ttl": "1h0m0s", "service-node-port-range": "30000-32767",
                                       "kubelet-preferred-address-types": "InternalDNS,InternalIP,Hostname,ExternalDNS,ExternalIP"},
                       cert_sans=["kubernetes", "kubernetes.default", "kubernetes.default.svc", "kubernetes.default.svc.cluster.local",
                                  "10.233.0.1", "localhost", "127.0.0.1", "cp1", "cp2", "cp3", "k8s-api.demo.internal",
                                  "10.0.10.10", "10.0.10.11", "10.0.10.12", "10.0.10.13"])
    system_addons(c, "calico")
    c.deployment("kube-system", "metrics-server", 1, "registry.k8s.io/metrics-server/metrics-server:v0.7.2", labels={"app.kubernetes.io/name": "metrics-server"})
    c.daemonset("ingress-nginx", "ingress-nginx-controller", "registry.k8s.io/ingress-nginx/controller:v1.11.2", host_network=False,
                node_selector={"demo.internal/ingress": "true"}, tolerate_all=False, labels={"app.kubernetes.io/name": "ingress-nginx"})
    c.deployment("shop", "frontend", 3, "ghcr.io/demo/frontend:2.4.1")
    c.pdb("shop", "frontend", {"app.kubernetes.io/name": "frontend"}, min_available=2)
    c.deployment("shop", "checkout", 2, "ghcr.io/demo/checkout:1.9.0")
    c.pdb("shop", "checkout", {"app.kubernetes.io/name": "checkout"}, max_unavailable=1)
    c.deployment("shop", "image-resizer", 2, "ghcr.io/demo/resizer:0.8.3", emptydir=True)
    c.pdb("shop", "image-resizer", {"app.kubernetes.io/name": "image-resizer"}, min_available="50%")
    c.statefulset("shop", "postgres", 3, "docker.io/library/postgres:16.4")
    c.pdb("shop", "postgres", {"app.kubernetes.io/name": "postgres"}, max_unavailable=1)
    c.deployment("monitoring", "grafana", 1, "docker.io/grafana/grafana:11.2.0", emptydir=True)
    c.bare_pod("default", "debug-shell", "w2", "docker.io/library/busybox:1.36")
    return c


def large_ha() -> Cluster:
    c = Cluster("large-ha", "v1.30.4", cni="cilium", node_prefix=26, max_pods=60)
    c.endpoint = "k8s-api.large.internal:6443"
    for i in (1, 2, 3):
        c.node(f"cp0{i}", f"10.20.0.1{i}", True)
    for i in range(1, 198):
        row = 1 + (i - 1) // 25
        c.node(f"node{i:03d}", f"10.20.{1 + (i - 1) // 250}.{(i - 1) % 250 + 1}", False, {"topology.kubernetes.io/zone": f"row-{row}"},
               cpu="32", memory="128Gi")
    kubeadm_configmaps(c, endpoint=c.endpoint, proxy_mode="iptables", feature_gates={},
                       extra_api_args={"anonymous-auth": "True", "service-node-port-range": "30000-32767"},
                       cert_sans=["kubernetes", "kubernetes.default", "kubernetes.default.svc", "kubernetes.default.svc.cluster.local",
                                  "10.233.0.1", "localhost", "127.0.0.1", "cp01", "cp02", "cp03", "k8s-api.large.internal",
                                  "10.20.0.10", "10.20.0.11", "10.20.0.12", "10.20.0.13"])
    system_addons(c, "cilium")
    rng = random.Random(2026)
    sizes = [2, 3, 4, 6, 8, 12, 16, 24]
    budgets = [("min", 1), ("min", "50%"), ("max", 1), ("max", "25%"), ("min", "80%"), ("max", "10%"), (None, None)]
    for t in range(1, 51):
        ns = f"team-{t:02d}"
        for d in range(1, 8):
            name = f"svc-{d}"
            replicas = rng.choice(sizes)
            c.deployment(ns, name, replicas, f"registry.large.internal/{ns}/{name}:1.{rng.randrange(30)}.0",
                         cpu=rng.choice(["50m", "100m", "250m"]), memory=rng.choice(["64Mi", "256Mi", "1Gi"]), emptydir=(d == 3))
            kind, value = budgets[(t + d) % len(budgets)]
            if kind == "min":
                c.pdb(ns, name, {"app.kubernetes.io/name": name}, min_available=value, policy="AlwaysAllow" if d == 5 else None)
            elif kind == "max":
                c.pdb(ns, name, {"app.kubernetes.io/name": name}, max_unavailable=value)
        if t % 2 == 0:
            c.statefulset(ns, "db", 3)
            c.pdb(ns, "db", {"app.kubernetes.io/name": "db"}, max_unavailable=1)
        if t % 5 == 0:
            c.bare_pod(ns, "toolbox", c.workers[(t * 13) % len(c.workers)], "docker.io/library/busybox:1.36")
        if t % 7 == 0:
            c.bare_pod(ns, "scratch-job", c.workers[(t * 29) % len(c.workers)], "docker.io/library/busybox:1.36", emptydir=True)
    # one namespace with two budgets over the same pods: the eviction API answers 500 for these
    c.deployment("legacy", "reporting", 2, "registry.large.internal/legacy/reporting:7.1.0")
    c.pdb("legacy", "reporting", {"app.kubernetes.io/name": "reporting"}, min_available=1)
    c.pdb("legacy", "reporting-strict", {"app.kubernetes.io/name": "reporting"}, max_unavailable=0)
    return c


def main(out: Path = HERE) -> None:
    for cluster in (demo(), large_ha()):
        path = out / f"{cluster.name}.json"
        indent = 1 if len(cluster.nodes) < 20 else None  # the large one stays compact: 4,000 pods
        path.write_text(json.dumps(cluster.snapshot(), indent=indent, sort_keys=True) + "\n")
        pods = len(cluster.objects.get("pods", []))
        print(f"{path.name}: {len(cluster.nodes)} nodes, {pods} pods, {len(cluster.objects.get('poddisruptionbudgets.policy', []))} PDBs")


if __name__ == "__main__":
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else HERE)
