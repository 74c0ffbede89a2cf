"""Blocker ids stay the same across runs and settings; accept files are read strictly, naming file and line."""

from __future__ import annotations

import datetime

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from migrate.errors import UserError
from migrate.mapping.acceptance import Acceptance, acknowledge, blocker_id, from_option, read_accept_file
from migrate.mapping.finding import finding

TODAY = datetime.date(2026, 12, 4)


@given(st.text(min_size=1, max_size=200))
def test_an_id_is_a_function_of_the_setting_alone_and_fits_a_command_line(setting):
    first, again = blocker_id(setting), blocker_id(str(setting))
    assert first == again
    assert len(first) <= 47 and all(c.isascii() and (c.isalnum() or c == "-") for c in first)


@settings(derandomize=True)  # a digest collision is possible in principle; the examples must not change per run
@given(st.lists(st.text(min_size=1, max_size=60), min_size=2, max_size=30, unique=True))
def test_distinct_settings_get_distinct_ids_even_when_their_words_match(names):
    variants = names + [s.replace("_", "-") for s in names] + [s.upper() for s in names]
    ids = {blocker_id(s): s for s in dict.fromkeys(variants)}
    assert len(ids) == len(dict.fromkeys(variants))


def test_the_id_is_readable():
    assert blocker_id("kube_vip_enabled").startswith("kube-vip-enabled-")
    assert blocker_id("workers' localhost API proxy").startswith("workers-localhost-api-proxy-")


def _blockers(*settings: str):
    return [finding(s, "manual", "read me", severity="blocker") for s in settings] + [finding("quiet", "kept", "fine")]


def test_acknowledgements_split_blockers_into_accepted_and_open_and_name_what_matched_nothing():
    cid, lid = blocker_id("cluster identity"), blocker_id("loadbalancer_apiserver")
    got = acknowledge(_blockers("cluster identity", "loadbalancer_apiserver"),
                      [Acceptance(cid, "jane", "rehearsal"), Acceptance("typo-0000", "jane", "oops"),
                       Acceptance(lid, "joe", "old", datetime.date(2026, 12, 3))], TODAY)
    assert list(got.accepted) == [cid] and got.accepted[cid].who == "jane"
    assert got.open == [lid]
    assert [a.id for a in got.unknown] == ["typo-0000"] and [a.id for a in got.expired] == [lid]


def test_an_acknowledgement_expiring_today_still_counts():
    lid = blocker_id("loadbalancer_apiserver")
    got = acknowledge(_blockers("loadbalancer_apiserver"), [Acceptance(lid, "joe", "ok", TODAY)], TODAY)
    assert got.open == [] and lid in got.accepted


def test_command_line_ids_are_trimmed_and_carry_who():
    assert [(a.id, a.who) for a in from_option([" a-1 ", ""], "ci")] == [("a-1", "ci")]


def test_an_accept_file_reads_id_who_why_and_expiry(tmp_path):
    path = tmp_path / "accepted.yaml"
    path.write_text("# read by the platform team\n- id: cluster-identity-dff4\n  who: jane@example.com\n"
                    "  why: rehearsal cluster, fresh CAs wanted\n  expires: 2027-01-31\n")
    [a] = read_accept_file(path)
    assert (a.id, a.who, a.expires, a.where) == ("cluster-identity-dff4", "jane@example.com",
                                                datetime.date(2027, 1, 31), f"{path}:2")


@pytest.mark.parametrize("text, line, words", [
    ("- id: a-1\n  who: jane\n", 1, "lacks why"),
    ("- id: a-1\n  who: jane\n  why: x\n- id: b-2\n  who: joe\n  why: y\n  reason: z\n", 4, "unknown field reason"),
    ("- id: a-1\n  who: jane\n  why: x\n  expires: next week\n", 1, "not a date"),
    ("id: a-1\n", 1, "YAML list"),
    ("- [a, b]\n", 1, "mapping"),
    ("- id: a-1\n  who: [\n", 3, "not valid YAML"),
])
def test_a_bad_accept_file_is_refused_naming_the_line(tmp_path, text, line, words):
    path = tmp_path / "accepted.yaml"
    path.write_text(text)
    with pytest.raises(UserError) as caught:
        read_accept_file(path)
    assert caught.value.where == f"{path}:{line}" and words in caught.value.message
