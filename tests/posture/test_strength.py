"""What "stronger" means per control: antisymmetric, reflexive, and right on the values the benchmark names."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from migrate.posture.controls import posture_table
from migrate.posture.strength import SAME, STRONGER, WEAKER, compare, strong_suite

MEASURES = sorted({c.measure for c in posture_table().controls if c.measure})
VALUES = st.one_of(
    st.none(), st.booleans(), st.integers(-5, 5000),
    st.sampled_from(["true", "false", "0", "0s", "4h0m0s", "127.0.0.1", "::1", "0.0.0.0", "::", "localhost",
                     "VersionTLS10", "VersionTLS12", "VersionTLS13", "privileged", "baseline", "restricted",
                     "None", "Metadata", "Request", "RequestResponse", "identity", "aescbc", "secretbox", "kms",
                     "go-default", "TLS_AES_128_GCM_SHA256", "TLS_RSA_WITH_AES_128_CBC_SHA",
                     "TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA,TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256", "Node,RBAC",
                     "AlwaysAllow", "EventRateLimit,AlwaysPullImages"]),
    st.lists(st.sampled_from(["Node", "RBAC", "AlwaysAllow", "EventRateLimit", "AlwaysPullImages"]), max_size=4),
)


@given(st.sampled_from(MEASURES), VALUES, VALUES)
def test_comparison_is_antisymmetric_and_reflexive(measure: str, a: object, b: object) -> None:
    there, back = compare(measure, a, b), compare(measure, b, a)
    assert (there, back) in ((STRONGER, WEAKER), (WEAKER, STRONGER), (SAME, SAME))
    assert compare(measure, a, a) == SAME


def test_the_benchmark_s_direction_for_each_kind_of_value() -> None:
    assert compare("loopback", "0.0.0.0", "127.0.0.1") == STRONGER
    assert compare("loopback", "::", "::1") == STRONGER
    assert compare("false_is_stronger", True, "false") == STRONGER  # a flag string and a YAML boolean compare
    assert compare("order:VersionTLS10,VersionTLS11,VersionTLS12,VersionTLS13", "VersionTLS13", "VersionTLS12") == WEAKER
    assert compare("positive_limit", -1, 4096) == STRONGER
    assert compare("nonzero", "4h0m0s", "0s") == WEAKER
    assert compare("includes:Node", ["RBAC"], "Node,RBAC") == STRONGER
    assert compare("excludes:AlwaysAllow", "AlwaysAllow", ["Node", "RBAC"]) == STRONGER
    # Go's default set still offers CBC suites: any explicit AEAD-only list is stronger, one CBC suite spoils it
    assert compare("strong_ciphers", "go-default", "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256") == STRONGER
    assert compare("strong_ciphers", "TLS_AES_128_GCM_SHA256",
                   "TLS_AES_128_GCM_SHA256,TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA") == WEAKER
    assert not strong_suite("TLS_RSA_WITH_AES_128_GCM_SHA256")  # no forward secrecy
