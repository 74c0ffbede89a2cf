"""What Talos runs when its documents leave a field out: talosctl gen config's and machined's defaults (reference/talos.md §B, §D, §H)."""
# exercised by tests/talos/test_read.py (gen config output of every version read back with these filled in)

from __future__ import annotations

from migrate.spec import Audit

# Talos defaults (talosctl gen config and the machined controllers)
DEFAULT_POD_SUBNETS = {4: "10.244.0.0/16", 6: "fc00:db8:10::/56"}
DEFAULT_SERVICE_SUBNETS = {4: "10.96.0.0/12", 6: "fc00:db8:20::/112"}
DEFAULT_DNS_DOMAIN = "cluster.local"
DEFAULT_NTP_SERVERS = ("time.cloudflare.com",)
NFTABLES_SINCE = (1, 31)  # kube-proxy mode when cluster.proxy.mode is unset
CONTROL_PLANE_TAINT = "node-role.kubernetes.io/control-plane:NoSchedule"
ETCD_CERT_DIR = "/system/secrets/etcd"
TALOS_AUDIT = Audit(
    log_path="/var/log/audit/kube/kube-apiserver.log", policy_file="/system/config/kubernetes/audit-policy.yaml"
)
UPSTREAM_KUBE_REPOS = ("registry.k8s.io", "k8s.gcr.io")
HOST_DNS_IP = "169.254.116.108"  # Talos hostDNS, never a nodelocaldns
# Talos's key names in the EncryptionConfiguration it writes: the name stored in every encrypted value
ENCRYPTION_KEYS = {"secretboxEncryptionSecret": ("secretbox", "key2"), "aescbcEncryptionSecret": ("aescbc", "key1")}
# KubeletConfiguration fields Talos sets in code when extraConfig leaves them out (§H)
KUBELET_DEFAULTS = {
    "failSwapOn": False,
    "serializeImagePulls": False,
    "shutdownGracePeriod": "30s",
    "shutdownGracePeriodCriticalPods": "10s",
    "tlsMinVersion": "VersionTLS13",
    "protectKernelDefaults": True,
    "rotateCertificates": True,
    "cgroupDriver": "cgroupfs",
}
# systemReserved Talos sets when extraConfig has none (memory differs by machine type, §H)
TALOS_SYSTEM_RESERVED = {"cpu": "50m", "ephemeral-storage": "256Mi", "pid": "100"}
TALOS_SYSTEM_RESERVED_MEMORY = {"controlplane": "512Mi", "worker": "384Mi"}
# kube-apiserver flags the spec models as typed fields; the rest stay in extra_args
APISERVER_TYPED_FLAGS = frozenset(
    {
        "service-account-issuer",
        "api-audiences",
        "authorization-mode",
        "enable-admission-plugins",
        "disable-admission-plugins",
        "service-node-port-range",
        "anonymous-auth",
        "feature-gates",
        "oidc-issuer-url",
        "oidc-client-id",
        "oidc-username-claim",
        "oidc-username-prefix",
        "oidc-groups-claim",
        "oidc-groups-prefix",
        "oidc-ca-file",
        "audit-log-path",
        "audit-log-maxage",
        "audit-log-maxbackup",
        "audit-log-maxsize",
        "audit-policy-file",
    }
)

# kube-controller-manager flags the spec models in Network (node_cidr_mask_size*)
CONTROLLER_TYPED_FLAGS = frozenset({"node-cidr-mask-size", "node-cidr-mask-size-ipv4", "node-cidr-mask-size-ipv6"})

# flags Talos's control-plane controller always passes (control_plane_static_pod.go, etcd service), limited to the
# ones the security posture compares; extraArgs override them unless merged (tls-cipher-suites) or denied (etcd)
TALOS_APISERVER_CIPHER_SUITES = (
    "TLS_AES_128_GCM_SHA256,TLS_AES_256_GCM_SHA384,TLS_CHACHA20_POLY1305_SHA256,TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256,"
    "TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384,TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305,"
    "TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256,TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256,"
    "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384,TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305,"
    "TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256"
)
TALOS_COMPONENT_FLAGS: dict[str, dict[str, str]] = {
    "kube-apiserver": {"anonymous-auth": "false", "profiling": "false", "bind-address": "0.0.0.0",
                       "tls-min-version": "VersionTLS12", "tls-cipher-suites": TALOS_APISERVER_CIPHER_SUITES},
    "kube-controller-manager": {"profiling": "false", "bind-address": "127.0.0.1", "tls-min-version": "VersionTLS13",
                                "use-service-account-credentials": "true"},
    "kube-scheduler": {"profiling": "false", "bind-address": "127.0.0.1", "tls-min-version": "VersionTLS13"},
    "etcd": {"client-cert-auth": "true", "peer-client-cert-auth": "true", "auto-tls": "false", "peer-auto-tls": "false"},
}
# Talos appends the user's value to its own for these flags instead of replacing it
TALOS_ADDITIVE_FLAGS = frozenset({"tls-cipher-suites", "enable-admission-plugins", "feature-gates", "authorization-mode"})
# what `talosctl gen config` writes for the settings the posture compares (reference/talos.md §B, kubespray-settings.md
# row 424): the value Talos runs when a plan does not carry the cluster's own
TALOS_GENERATED = {"kubelet.seccompDefault": True, "kube-apiserver.audit-policy-level": "Metadata",
                   "pod-security.enforce": "baseline", "kube-apiserver.encryption-provider": "secretbox"}
