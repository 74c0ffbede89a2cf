"""migrate/version.py: the one parser of version text, on the spellings Kubernetes, Talos, etcd and Kubespray use."""

import pytest
from hypothesis import given
from hypothesis import strategies as st

from migrate.errors import UserError
from migrate.version import minor_of, release_of, require_minor


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("v1.31.4", (1, 31)),  # kube_version as Kubespray writes it
        ("1.32.5", (1, 32)),  # v-less kube_version
        ("1.13", (1, 13)),  # a Talos minor
        ("v3.5.21", (3, 5)),  # etcd_version
        (" 1.30 ", (1, 30)),  # YAML with stray spaces
        ("v2.20.0-106-g4751089", (2, 20)),  # git describe of a Kubespray checkout
    ],
)
def test_minor_of_real_spellings(text: str, expected: tuple[int, int]) -> None:
    assert minor_of(text) == expected
    assert require_minor(text) == expected


@pytest.mark.parametrize("text", [None, "", "latest", "{{ kube_version }}", "1", "v.1.2"])
def test_not_a_version_is_none_or_a_user_error(text: str | None) -> None:
    assert minor_of(text) is None
    with pytest.raises(UserError, match="not a Kubernetes version"):
        require_minor(str(text), "Kubernetes version")


@given(st.integers(0, 999), st.integers(0, 999), st.integers(0, 999), st.booleans())
def test_minor_of_round_trips(major: int, minor: int, patch: int, v: bool) -> None:
    assert minor_of(f"{'v' if v else ''}{major}.{minor}.{patch}") == (major, minor)


def test_release_of_orders_patches_and_refuses_text():
    assert release_of("v2.19.14") == (2, 19, 14) and release_of("1.30") == (1, 30, 0)
    assert release_of("2.18.0") < release_of("2.18.10") < release_of("2.19")
    assert release_of("{{ kube_version }}") is None and release_of(None) is None
