"""Loads the scripted trainees and the adversarial probes the conversation engine's tests use.

`evals/scripted_trainees.yaml` (good and bad handling) and `evals/adversarial.yaml` (probes)
belong to the conversation engine; the harness reads them rather than keeping copies, so
the engine's own checks and CI's gate run on the same lines.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from roleplay.errors import ConfigError
from roleplay.harness.contracts import Script


def _read(path: Path) -> Any:
    try:
        return yaml.safe_load(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(f"{path} does not exist; the persona contracts need the scripted "
                          "trainees and the adversarial probes of the conversation engine") from None
    except yaml.YAMLError as err:
        raise ConfigError(f"{path}: not valid YAML: {err}") from None


def _script(path: Path, raw: dict[str, Any], strategy: str | None) -> Script:
    data = dict(raw)
    if strategy is not None:
        data.setdefault("strategy", strategy)
    try:
        return Script.model_validate(data)
    except ValidationError as err:
        where = raw.get("id", "?")
        raise ConfigError(f"{path}: script {where}: {err}") from None


def load_scripts(scripted: Path, adversarial: Path) -> list[Script]:
    """Return every script of both files; ConfigError names the file and script at fault."""
    scripts: list[Script] = []
    for path, strategy in ((scripted, None), (adversarial, "adversarial")):
        data = _read(path)
        items = data.get("scripts", data) if isinstance(data, dict) else data
        if not isinstance(items, list):
            raise ConfigError(f"{path}: expected a list of scripts")
        scripts += [_script(path, item, strategy) for item in items]
    ids = [s.id for s in scripts]
    dupes = sorted({i for i in ids if ids.count(i) > 1})
    if dupes:
        raise ConfigError(f"script ids used twice: {', '.join(dupes)}")
    return scripts
