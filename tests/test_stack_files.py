"""Stack files and Pulumi.yaml, read as the Pulumi CLI reads them.

The expectations below come from the CLI's source (pulumi/pulumi ``sdk/go/common/workspace/loaders.go``,
``resource/config/key.go`` and ``object.go``, ``pkg/workspace/config.go``) and from gopkg.in/yaml.v3's
``resolve.go`` (the YAML library the CLI uses): see the docstrings of stacks/cli_yaml.py and
stacks/stack_files.py. Then property tests: whatever a stack file holds, reading it gives a checked stack
file or one error line, and what it gives the settings ends in Settings or one error line.
"""

from __future__ import annotations

import math
import string
import tempfile
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from stacks.cli_yaml import ConfigFileError, go_int, load_yaml
from stacks.schema import PROJECT_ROOT, SettingsError, cli_accepts, config_schema
from stacks.settings import Settings, settings_for_stack
from stacks.stack_files import (
    check_stack_name,
    go_number_text,
    override_entry,
    read_stack_file,
)

STAGING = (PROJECT_ROOT / "Pulumi.staging.yaml").read_text()
PROD = (PROJECT_ROOT / "Pulumi.prod.yaml").read_text()


# --- YAML as yaml.v3 resolves it -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("true", True),
        ("False", False),
        ("TRUE", True),
        ("no", "no"),  # YAML 1.1 booleans are text in YAML 1.2
        ("yes", "yes"),
        ("on", "on"),
        ("Off", "Off"),
        ("y", "y"),
        ("~", None),
        ("null", None),
        ("", None),
        ("12", 12),
        ("-7", -7),
        ("0o17", 15),  # YAML 1.2 octal, text to PyYAML
        ("017", 15),  # yaml.v3 keeps YAML 1.1's octal too
        ("0x1F", 31),
        ("0b101", 5),
        ("1_000", 1000),
        ("08", 8.0),  # not octal, so Go's float parser reads it
        ("1.5", 1.5),
        (".5", 0.5),
        ("1e3", 1000.0),
        ("1:30", "1:30"),  # sexagesimal is gone in YAML 1.2 (PyYAML: 90)
        ("140.211.10.0/24", "140.211.10.0/24"),
        ("3b:16:bf", "3b:16:bf"),
        ("'no'", "no"),
        ('"16"', "16"),
    ],
)
def test_scalars_resolve_as_yaml_v3_does(text: str, value: Any) -> None:
    assert load_yaml(f"k: {text}\n", "f.yaml").data == {"k": value}


def test_infinity_and_nan() -> None:
    data = load_yaml("a: .inf\nb: -.Inf\nc: .NaN\n", "f.yaml").data
    assert data["a"] == math.inf and data["b"] == -math.inf and math.isnan(data["c"])


def test_pyyaml_would_have_read_these_differently() -> None:
    # The reason this loader exists: the same text, read by PyYAML's safe_load.
    assert yaml.safe_load("a: no\nb: 1:30\nc: 0o17\n") == {"a": False, "b": 90, "c": "0o17"}


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("a: 1\na: 2\n", "line 2: invalid YAML: mapping key 'a' is written twice (first at line 1)"),
        ("a:\n  b: 1\n  b: 2\n", "line 3"),
        ("{a: 1, a: 2}\n", "written twice"),
        ("a: !!bool yes\n", "not a boolean"),
        ("a: !Custom x\n", "the tag !Custom"),
        ("a: !!binary aGk=\n", "the tag !!binary"),
        ("a: !!set {x}\n", "the tag !!set"),
        ("a: 2020-01-02\n", "timestamp"),
        ("a: [\n", "invalid YAML"),
        ("a: *nowhere\n", "undefined alias"),
        ("a: 1\n---\nb: 2\n", "single document"),
        ("a: \x01\n", "U+0001"),
        ("[" * 5000 + "]" * 5000, "nested too deeply"),
    ],
)
def test_what_yaml_v3_refuses_is_one_line(text: str, problem: str) -> None:
    with pytest.raises(ConfigFileError) as caught:
        load_yaml(text, "f.yaml")
    assert problem in str(caught.value)
    assert "\n" not in str(caught.value)


def test_merge_keys_may_be_overridden() -> None:
    assert load_yaml("base: &b {x: 1, y: 2}\nuse:\n  <<: *b\n  y: 3\n", "f.yaml").data["use"] == {"x": 1, "y": 3}


@pytest.mark.parametrize(
    ("text", "value"),
    [("10", 10), ("-10", -10), ("0x10", 16), ("010", 8), ("0o10", 8), ("0b10", 2), ("+3", 3), ("09", None)],
)
def test_go_int(text: str, value: int | None) -> None:
    assert go_int(text) == value


@pytest.mark.parametrize(
    ("value", "text"), [(16.0, "16"), (1.5, "1.5"), (1e20, "100000000000000000000"), (1e21, "1e+21"), (1e-7, "1e-7")]
)
def test_floats_reach_the_program_as_go_writes_them(value: float, text: str) -> None:
    assert go_number_text(value) == text


# --- Pulumi.yaml --------------------------------------------------------------------------------------------------


def test_the_project_schema_loads() -> None:
    schema = config_schema()
    assert schema["replicas"].type == "integer" and schema["sshKeys"].items == "string"
    assert schema["sshKeys"].type_name == "array<string>"


@pytest.mark.parametrize(
    ("change", "problem"),
    [
        (lambda t: t.replace("name: psf-infra", "name: other"), "name must be 'psf-infra'"),
        (lambda t: t.replace("  replicas:\n    type: integer", "  replicas:\n    type: number"), "type 'number'"),
        (lambda t: t.replace("    items:\n      type: string\n", "", 1), "no item type"),
        (lambda t: t.replace("    default: 2\n", "    default: two\n", 1), "not of its type integer"),
        (lambda t: t + "  replicas:\n    type: integer\n", "written twice"),
        (lambda t: t + "  aws:region:\n    value: us-east-1\n", "not this project's"),
        (lambda t: "- a list\n", "must be a mapping"),
        (lambda t: t.replace("config:\n", "config: [\n", 1), "invalid YAML"),
    ],
)
def test_a_malformed_project_file_is_one_line(tmp_path: Path, change: Any, problem: str) -> None:
    path = tmp_path / "Pulumi.yaml"
    path.write_text(change((PROJECT_ROOT / "Pulumi.yaml").read_text()))
    with pytest.raises(ConfigFileError) as caught:
        config_schema(path)
    assert problem in str(caught.value) and str(caught.value).startswith("Pulumi.yaml")


@pytest.mark.parametrize(
    ("type_", "value", "ok"),
    [
        ("string", "x", True),
        ("string", ["x"], False),
        ("integer", "2", True),
        ("integer", "+2", True),
        ("integer", "2.0", False),
        ("integer", " 2", False),
        ("integer", 2.0, True),
        ("boolean", "true", True),
        ("boolean", "True", False),
        ("boolean", "no", False),
        ("boolean", True, True),
        ("array", ["a"], True),
        ("array", [1], False),
        ("array", "a", False),
    ],
)
def test_type_check_follows_validate_config_value(type_: str, value: Any, ok: bool) -> None:
    assert cli_accepts(type_, "string" if type_ == "array" else None, value) is ok


# --- stack files ------------------------------------------------------------------------------------------------


def _write(tmp: Path, text: str | bytes, stack: str = "staging") -> Path:
    path = tmp / f"Pulumi.{stack}.yaml"
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(text)
    return tmp


@pytest.mark.parametrize("stack", ["prod", "staging"])
def test_committed_stack_files_read_cleanly(stack: str) -> None:
    stack_file = read_stack_file(PROJECT_ROOT, stack)
    assert stack_file.entries["pulumi:disable-default-providers"].text == '["*"]'
    values = stack_file.project_values()
    assert values["environment"] == stack
    assert all(isinstance(v, str) for v in values.values()), "the program receives text"


def test_values_reach_the_program_as_the_cli_gives_them(tmp_path: Path) -> None:
    text = STAGING.replace("psf-infra:replicas: 1", "psf-infra:replicas: 2")
    values = read_stack_file(_write(tmp_path, text), "staging").project_values()
    assert values["replicas"] == "2"
    assert values["protect"] == "false"
    assert values["sshKeys"] == '["3b:16:bf:e4:8b:00:8b:b8:59:8c:a9:d3:f0:19:45:fa"]'


def test_a_bom_is_dropped_as_the_cli_does(tmp_path: Path) -> None:
    stack_file = read_stack_file(_write(tmp_path, b"\xef\xbb\xbf" + STAGING.encode()), "staging")
    assert stack_file.project_values()["environment"] == "staging"


def test_encrypted_values_are_kept_as_ciphertext(tmp_path: Path) -> None:
    text = STAGING + "  psf-infra:fastlyApiKey:\n    secure: v1:AAAA\n"
    entry = read_stack_file(_write(tmp_path, text), "staging").entries["psf-infra:fastlyApiKey"]
    assert entry.secure and entry.text == "v1:AAAA"
    assert "fastlyApiKey" not in read_stack_file(tmp_path, "staging").project_values()


def test_a_plaintext_secret_never_appears_in_the_error(tmp_path: Path) -> None:
    with pytest.raises(SettingsError) as caught:
        read_stack_file(_write(tmp_path, STAGING + "  psf-infra:fastlyApiKey: hunter2-is-my-key\n"), "staging")
    assert "hunter2" not in str(caught.value)
    assert "pulumi config set --secret fastlyApiKey" in str(caught.value)


@pytest.mark.parametrize("name", ["", "a/b", "../prod", "x" * 101, "stäging", "a b"])
def test_stack_names_follow_the_cli(name: str) -> None:
    with pytest.raises(ConfigFileError, match="stack name"):
        check_stack_name(name)


@pytest.mark.parametrize(
    ("key", "value", "expected"),
    [
        ("replicas", "3", ("psf-infra:replicas", "3")),
        ("psf-infra:protect", "false", ("psf-infra:protect", "false")),
        ("adminCidrs", '["192.0.2.0/24"]', ("psf-infra:adminCidrs", '["192.0.2.0/24"]')),
        ("dkimKeys", ["mail=x"], ("psf-infra:dkimKeys", '["mail=x"]')),
        ("replicas", None, None),
    ],
)
def test_overrides_behave_like_pulumi_config_set(key: str, value: Any, expected: Any) -> None:
    assert override_entry(key, value) == expected


# --- properties: any file, any value -----------------------------------------------------------------------------

KEYS = sorted(config_schema())
key_names = st.one_of(
    st.sampled_from([f"psf-infra:{k}" for k in KEYS]),
    st.sampled_from(KEYS),
    st.sampled_from(["pulumi:disable-default-providers", "aws:region", "psf-infr:replicas", "psf-infra:config:x"]),
    st.text(alphabet=string.ascii_letters + ":-_.", min_size=1, max_size=20),
)
scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=30),
    st.sampled_from(["no", "yes", "on", "016", "0o17", "1_000", "1e3", "2020-01-01", "nyc1", "140.211.10.0/24"]),
)
values = st.recursive(
    scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4),
        st.dictionaries(st.text(max_size=8), inner, max_size=3),
        st.fixed_dictionaries({"secure": st.text(max_size=10)}),
    ),
    max_leaves=8,
)
documents = st.one_of(
    st.dictionaries(st.sampled_from(["config", "secretsprovider", "environment", "other"]), values, max_size=3),
    st.fixed_dictionaries({"config": st.dictionaries(key_names, values, max_size=6)}),
    values,
)


def _outcome(text: str | bytes) -> None:
    """Read the text as staging's stack file, then give it to the settings; only the two error types may escape."""
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        _write(root, text)
        (root / "Pulumi.prod.yaml").write_text(PROD)
        try:
            from offline.recorder import program_config

            config, _ = program_config("staging", root=root)
            result = settings_for_stack("staging", config, root)
        except (ConfigFileError, SettingsError) as exc:
            assert "\n" not in str(exc)
            assert "Traceback" not in str(exc)
        else:
            assert isinstance(result, Settings)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(document=documents)
def test_any_yaml_document_gives_settings_or_one_line(document: Any) -> None:
    _outcome(yaml.safe_dump(document, allow_unicode=True))


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    key=key_names,
    value=values,
    drop=st.sets(st.sampled_from([line for line in STAGING.splitlines() if line.startswith("  psf-infra:")])),
)
def test_any_change_to_a_stack_file_gives_settings_or_one_line(key: str, value: Any, drop: set[str]) -> None:
    kept = [line for line in STAGING.splitlines() if line not in drop]
    entry = yaml.safe_dump({key: value}, allow_unicode=True, default_flow_style=True, width=10_000).strip()
    _outcome("\n".join(kept) + "\n  " + entry.removeprefix("{").removesuffix("}") + "\n")


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    position=st.integers(min_value=0, max_value=len(STAGING.encode())),
    junk=st.binary(min_size=0, max_size=6),
    cut=st.integers(min_value=0, max_value=6),
)
def test_any_corruption_of_a_stack_file_gives_settings_or_one_line(position: int, junk: bytes, cut: int) -> None:
    data = STAGING.encode()
    _outcome(data[:position] + junk + data[position + cut :])


@pytest.mark.parametrize(
    ("text", "key"),
    [
        ("config:\n  psf-infra:postgresVersion: 2016-01-01\n", "psf-infra:postgresVersion"),
        ("config:\n  psf-infra:sshKeys:\n    - '1'\n    - 2020-01-02\n", "psf-infra:sshKeys"),
        ("config:\n  psf-infra:replicas: !Ref x\n", "psf-infra:replicas"),
    ],
)
def test_a_bad_value_is_named_by_its_key(text: str, key: str) -> None:
    with pytest.raises(ConfigFileError) as caught:
        load_yaml(text, "Pulumi.x.yaml")
    assert f"the value of {key}:" in str(caught.value)
