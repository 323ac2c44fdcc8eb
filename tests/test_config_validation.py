"""Configuration mistakes caught before any rule, with the closest allowed key or the choices
(issue 18): the schema messages, variants, YAML aliases."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from her2cohort.data.config import (ConfigError, did_you_mean, expanded_size, read_yaml,
                                    schema_problems)
from her2cohort.stages.params import config_problems

ROOT = Path(__file__).resolve().parents[1]


def demo() -> dict:
    return yaml.safe_load((ROOT / "config/config.yaml").read_text("utf-8"))


def test_expanded_size_counts_shared_references_without_expanding():
    leaf = [1, 2, 3]  # 4 values: the list and its items
    level = [leaf] * 10
    assert expanded_size(leaf) == 4
    assert expanded_size(level) == 1 + 10 * 4
    bomb: list = ["x"] * 9
    for _ in range(9):
        bomb = [bomb] * 9  # 9**10 values once written out
    assert expanded_size(bomb, limit=1000) > 1000
    cyclic: dict = {}
    cyclic["self"] = cyclic
    assert expanded_size(cyclic, limit=50) > 50


@pytest.mark.parametrize("text, line", [
    ("a: &a [1, 2]\nb: *a\n", 2),
    ("base: &b {x: 1}\nother:\n  <<: *b\n  y: 2\n", 3),
])
def test_yaml_aliases_are_refused(tmp_path, text, line):
    p = tmp_path / "c.yaml"
    p.write_text(text, "utf-8")
    with pytest.raises(ConfigError, match=rf"c.yaml: line {line}: YAML alias '\*[ab]' is not "):
        read_yaml(p)


def test_anchor_without_alias_and_plain_yaml_load(tmp_path):
    p = tmp_path / "c.yaml"
    p.write_text("a: &a [1, 2]\nb: 3\n", "utf-8")
    assert read_yaml(p) == {"a": [1, 2], "b": 3}


def test_unreadable_yaml_names_the_file(tmp_path):
    p = tmp_path / "c.yaml"
    p.write_bytes(b"a: \xff\xfe\n")
    with pytest.raises(ConfigError, match="c.yaml: not UTF-8 text"):
        read_yaml(p)
    with pytest.raises(ConfigError, match="cannot be read"):
        read_yaml(tmp_path / "missing.yaml")


def test_did_you_mean():
    assert did_you_mean("defintion", ["definition", "test"]) == " (did you mean 'definition'?)"
    assert did_you_mean("zzz", ["definition", "test"]) == ""


def test_schema_messages_name_key_choice_and_closest():
    cfg = demo()
    cfg["tabel1"] = cfg.pop("table1")
    cfg["pcr"]["defintion"] = cfg["pcr"].pop("definition")
    cfg["her2"]["guideline"] = "2016"
    cfg["survival"]["ci_type"] = "loglog"
    got = schema_problems(cfg)
    assert "(top level): unknown key 'tabel1' (did you mean 'table1'?)" in got
    assert "pcr: unknown key 'defintion' (did you mean 'definition'?)" in got
    # a number is not misspelt: no guess for 2016
    assert "her2/guideline: '2016' is not one of the choices: 2018, 2013" in got
    assert ("survival/ci_type: 'loglog' is not one of the choices: log, log-log, plain "
            "(did you mean 'log-log'?)") in got


def variant(overrides: dict) -> dict:
    cfg = demo()
    cfg["sensitivity"]["variants"] = {"v": {"description": "d", "overrides": overrides}}
    return cfg


def test_variant_overrides_checked_like_the_config():
    assert config_problems(demo(), mappings=False) == []
    got = config_problems(variant({"pcr": {"definiton": "ypT0 ypN0"}}), mappings=False)
    assert got == ["sensitivity/variants/v/overrides (merged into the config): pcr: unknown "
                   "key 'definiton' (did you mean 'definition'?)"]
    got = config_problems(variant({"survival": {"cox": {"covariates": [{"name": "ki67_grp"}]}}}),
                          mappings=False)
    assert len(got) == 1 and got[0].startswith(
        "sensitivity/variants/v: survival/cox/covariates/0: 'ki67_grp' is no canonical field "
        "or derived variable (did you mean 'ki67_group'?)")
    warnings: list[str] = []
    got = config_problems(variant({"tables": {"page": "Letter"}}), mappings=False,
                          warnings=warnings)
    assert got == [] and "change nothing the sensitivity estimates read" in warnings[0]
    # a variant that changes what the estimates read is valid
    assert config_problems(variant({"survival": {"ci_type": "log-log"}}), mappings=False) == []


def test_main_config_mistake_reported_once_not_per_variant():
    cfg = demo()
    cfg["survival"]["cox"]["strata"] = "centr"
    got = config_problems(cfg, mappings=False)
    assert len(got) == 1 and "did you mean 'centre'?" in got[0]


def test_mappings_checked_before_any_rule():
    cfg = demo()
    cfg["centres"] = [cfg["centres"][0], cfg["centres"][0]]
    got = config_problems(cfg)
    assert got == [f"centres: {cfg['centres'][0]} is listed twice; list each centre mapping once"]


def test_a_config_found_valid_is_remembered_and_a_changed_one_checked_again(
        tmp_path, monkeypatch):
    """The Snakefile's cache (.snakemake/her2cohort): a valid config is not checked again
    (its warnings are said again), one changed in any value is; problems are never
    remembered, and the centre mappings are checked every time."""
    from her2cohort.stages import params

    cache = str(tmp_path / "cache")
    noop = variant({"tables": {"page": "Letter"}})
    first: list[str] = []
    assert config_problems(noop, mappings=False, warnings=first, cache_dir=cache) == []
    assert len(list((tmp_path / "cache").glob("valid-*.json"))) == 1
    checked = []
    real = params._config_values_problems
    monkeypatch.setattr(params, "_config_values_problems",
                        lambda cfg, w: checked.append(1) or real(cfg, w))
    again: list[str] = []
    assert config_problems(variant({"tables": {"page": "Letter"}}), mappings=False,
                           warnings=again, cache_dir=cache) == []
    assert checked == [] and again == first and "change nothing" in again[0]
    bad = variant({"pcr": {"definiton": "ypT0 ypN0"}})
    for _ in range(2):  # a problem is found each time, never remembered
        assert len(config_problems(bad, mappings=False, cache_dir=cache)) == 1
    assert checked == [1, 1]
    twice = demo()
    twice["centres"] = [twice["centres"][0], twice["centres"][0]]
    assert config_problems(twice, cache_dir=cache) == config_problems(twice)
    assert config_problems(twice, cache_dir=cache)[0].endswith("list each centre mapping once")


def run_dry(args: list[str]) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "snakemake", "-n", "--cores", "1", *args],
                          cwd=ROOT, capture_output=True, text=True, timeout=300, check=False)


def test_snakemake_stops_on_variant_typo_and_alias_before_any_rule(tmp_path):
    bad = tmp_path / "config.yaml"
    bad.write_text(yaml.safe_dump(variant({"pcr": {"definiton": "ypT0 ypN0"}})), "utf-8")
    res = run_dry(["--configfile", str(bad)])
    assert res.returncode == 2, res.stderr
    assert "unknown key 'definiton' (did you mean 'definition'?)" in res.stderr
    assert "Traceback" not in res.stderr
    bomb = tmp_path / "bomb.yaml"
    bomb.write_text("".join(f"{a}: &{a} [{', '.join([f'*{p}'] * 9 if p else ['1'] * 9)}]\n"
                            for p, a in zip(["", *"abcdefgh"], "abcdefghi")), "utf-8")
    res = run_dry(["--configfile", str(bomb)])
    assert res.returncode == 2, res.stderr
    assert "line 2: YAML alias '*a' is not allowed" in res.stderr


def _object_paths(schema: dict, cfg, path=()) -> list[tuple]:
    """Paths of config objects whose schema closes them (additionalProperties: false)."""
    out = []
    if isinstance(cfg, dict) and schema.get("additionalProperties") is False:
        out.append(path)
        for k, v in cfg.items():
            sub = (schema.get("properties") or {}).get(k)
            if isinstance(sub, dict):
                out += _object_paths(sub, v, (*path, k))
    return out


def _closed_paths() -> list[tuple]:
    from her2cohort.data.config import _schema, prepare_config

    return _object_paths(_schema(), prepare_config(demo()))


@settings(max_examples=60, deadline=None)
@given(data=st.data(), key=st.from_regex(r"[a-z][a-z_]{2,14}", fullmatch=True),
       in_variant=st.booleans())
def test_any_unknown_key_anywhere_is_named(data, key, in_variant):
    """A key the schema does not know, put into any closed object of the config or of a
    variant's overrides, stops the run with a message naming it (exit 2 before any rule)."""
    from her2cohort.data.config import _schema

    paths = _closed_paths()
    path = data.draw(st.sampled_from(paths))
    node = _schema()
    for k in path:
        node = node["properties"][k]
    assume(key not in (node.get("properties") or {}))
    cfg = demo()
    target = {}
    if in_variant:
        over = target
        for k in path:
            over = over.setdefault(k, {})
        over[key] = 1
        cfg["sensitivity"]["variants"] = {"v": {"description": "d", "overrides": target}}
    else:
        from her2cohort.data.config import prepare_config

        prepare_config(cfg)
        obj = cfg
        for k in path:
            obj = obj[k]
        obj[key] = 1
    got = config_problems(cfg, mappings=False)
    assert any(f"unknown key '{key}'" in p for p in got), (path, got)
