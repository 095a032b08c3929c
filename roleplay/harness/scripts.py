"""Loads the scripted trainees and the adversarial probes the conversation engine's tests use.

`evals/scripted_trainees.yaml` (good and bad handling) and `evals/adversarial.yaml` (probes)
belong to the conversation engine; the harness reads them rather than keeping copies, so
the engine's own checks and CI's gate run on the same lines.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from roleplay.errors import ConfigError
from roleplay.harness.contracts import Script, Strategy
from roleplay.yamlfile import YamlKind, joined


class _Probe(Script):
    """A script of the adversarial file, where every script is a probe unless it says so."""

    strategy: Strategy = "adversarial"


class _ScriptsFile(BaseModel):
    model_config = ConfigDict(extra="forbid")

    scripts: list[Script] = Field(min_length=1)


class _ProbesFile(BaseModel):
    model_config = ConfigDict(extra="forbid")

    scripts: list[_Probe] = Field(min_length=1)


def _kind(model: type[BaseModel]) -> YamlKind[Any]:
    return YamlKind(model, noun="scripts file", error=joined(ConfigError),
                    empty_fix="add `scripts:` with one script per trainee",
                    top_fix="start with `scripts:` and list the scripts below it",
                    hint="see the scripts in evals/scripted_trainees.yaml",
                    missing_fix="the persona contracts need the scripted trainees and the "
                                "adversarial probes of the conversation engine")


def load_scripts(scripted: Path, adversarial: Path) -> list[Script]:
    """Return every script of both files; ConfigError names the file and script at fault."""
    scripts: list[Script] = []
    for path, model in ((scripted, _ScriptsFile), (adversarial, _ProbesFile)):
        loaded = _kind(model).read(path).model.scripts
        # Plain Scripts out: the probes' default strategy is a matter of the file only.
        scripts += [Script.model_validate(s.model_dump()) for s in loaded]
    ids = [s.id for s in scripts]
    dupes = sorted({i for i in ids if ids.count(i) > 1})
    if dupes:
        raise ConfigError(f"script ids used twice: {', '.join(dupes)}")
    return scripts
