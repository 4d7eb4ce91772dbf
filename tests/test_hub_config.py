"""The hub settings an administrator copies (``classroom/hub/``) are valid where they go.

Each file is validated against the schema its distribution validates with itself: The Littlest
JupyterHub's ``config_schema`` (used by ``tljh-config``) and Zero to JupyterHub's values schema (used
by ``helm install``), both vendored as JSON (``classroom/hub/README.md`` says from which commit). The
README shows the files verbatim, so what an administrator reads is what was checked.
"""
from __future__ import annotations

import copy
import json
from pathlib import Path

import jsonschema
import pytest
import yaml

ROOT = Path(__file__).resolve().parent.parent
HUB = ROOT / "classroom" / "hub"
FILES = {"tljh": ("tljh-config.yaml", "tljh-config.schema.json"), "z2jh": ("z2jh-config.yaml", "z2jh-values.schema.json")}


def _merged(defaults: dict, config: dict) -> dict:
    """``config`` over ``defaults`` as Helm merges values: maps key by key, anything else replaced."""
    out = dict(defaults)
    for key, value in config.items():
        out[key] = _merged(defaults[key], value) if isinstance(value, dict) and isinstance(defaults.get(key), dict) \
            else value
    return out


def _load(kind: str) -> tuple[dict, dict, str]:
    """(what the distribution validates, the schema, the file's text). Helm validates the chart's
    own values.yaml with the administrator's config merged over it; TLJH validates the file itself."""
    config, schema = FILES[kind]
    text = (HUB / config).read_text(encoding="utf-8")
    values = yaml.safe_load(text)
    if kind == "z2jh":
        values = _merged(yaml.safe_load((HUB / "z2jh-values.yaml").read_text(encoding="utf-8")), values)
    return values, json.loads((HUB / schema).read_text(encoding="utf-8")), text


@pytest.mark.parametrize("kind", FILES)
def test_the_config_is_valid_and_a_typo_is_not(kind):
    config, schema, _ = _load(kind)
    jsonschema.validate(config, schema)
    # TLJH's schema lists "additionalProperties" among its properties instead of closing the root:
    # a misspelt top-level key is checked here instead
    assert set(config) <= set(schema["properties"]) - {"additionalProperties"}, sorted(config)
    section = "limits" if kind == "tljh" else "singleuser"
    typo = copy.deepcopy(config)
    typo[section]["memroy"] = typo[section].pop("memory")
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(typo, schema)


def test_the_readme_shows_the_checked_files():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    for kind in FILES:
        assert _load(kind)[2].strip() in readme, f"README: paste classroom/hub/{FILES[kind][0]} as it is"
