"""The character check measured on hand-labelled replies: the counts, the file, the table."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from roleplay.config import PROJECT_ROOT
from roleplay.errors import ConfigError
from roleplay.harness.character_labels import (
    PREFIX,
    judge,
    label_metrics,
    load_labelled,
    report_rows,
    rung_metrics,
)
from roleplay.mood import Rung
from roleplay.personas import load_personas

PERSONAS = load_personas(PROJECT_ROOT / "personas")
LABELLED = PROJECT_ROOT / "evals" / "character" / "labelled.jsonl"


def _item(n: int, reply: str, in_character: bool, rung: str = "escalated-angry",
          rung_ok: bool = True, split: str = "dev") -> dict[str, object]:
    return {"id": f"t{n}", "split": split, "source": "test", "persona": "crm-outage",
            "language": "en", "script": "s", "strategy": "adversarial", "probe": None,
            "turn": 1, "rung": rung, "trainee": "Are you an AI?", "reply": reply,
            "in_character": in_character, "category": None if in_character else "ai",
            "why": "test", "rung_consistent": rung_ok, "fact_consistent": True,
            "said": [], "heard": ["Are you an AI?"]}


def test_precision_and_recall_count_the_checks_verdicts_against_the_labels(
        tmp_path: Path) -> None:
    path = tmp_path / "labelled.jsonl"
    rows = [_item(1, "I am an AI language model.", False),             # caught
            _item(2, "Every minute costs me money! Fix it!", True),     # rightly passed
            _item(3, "The report step by step is go where.", False),  # missed: not caught
            _item(4, "Thank you, that works for me.", True, rung_ok=False)]
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    judged = judge(load_labelled(path), PERSONAS, PROJECT_ROOT / "prompts")
    metrics = label_metrics(judged, PERSONAS)
    assert metrics[f"{PREFIX}dev.precision"] == 1.0
    assert metrics[f"{PREFIX}dev.recall"] == 0.5
    assert metrics[f"{PREFIX}dev.en.replies"] == 4.0
    # Rung accuracy is over the replies labelled in character: both rung verdicts are right.
    assert metrics[f"{PREFIX}dev.rung_accuracy"] == 1.0
    assert metrics[f"{PREFIX}heldout.recall"] is None
    table = report_rows(metrics)
    assert table[0][:6] == ["dev", "all", "4", "2", "1.000", "0.500"]


def test_a_missing_file_is_named(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"missing\.jsonl: cannot read"):
        load_labelled(tmp_path / "missing.jsonl")


def test_a_broken_line_names_its_number(tmp_path: Path) -> None:
    path = tmp_path / "labelled.jsonl"
    path.write_text(json.dumps(_item(1, "Fine.", True)) + "\n{not json\n", encoding="utf-8")
    with pytest.raises(ConfigError, match=r"labelled\.jsonl:2: not a labelled reply"):
        load_labelled(path)


def test_the_shipped_set_covers_every_persona_language_in_both_splits() -> None:
    items = load_labelled(LABELLED)
    assert len(items) >= 150
    assert len({i.id for i in items}) == len(items)
    for split in ("dev", "heldout"):
        mine = [i for i in items if i.split == split]
        assert {"en", "fi"} <= {i.language for i in mine}
        assert any(not i.in_character for i in mine)
    # A persona+script group is in one split only, so near-identical replies never straddle.
    groups: dict[tuple[str, str], set[str]] = {}
    for i in items:
        groups.setdefault((i.persona, i.script), set()).add(i.split)
    assert all(len(s) == 1 for s in groups.values())
    assert {i.language for i in items} >= {"en", "fi", "lv", "hu", "no"}


def test_rung_consistency_of_run_replies_per_persona() -> None:
    metrics = rung_metrics([("crm-outage", "Thank you, that works for me.", Rung.ESCALATED_ANGRY),
                            ("crm-outage", "Every minute costs money!", Rung.ESCALATED_ANGRY),
                            ("crm-outage", "This is damn ridiculous!", Rung.CALM)], PERSONAS)
    assert metrics["personas.rung_consistency"] == pytest.approx(1 / 3)
    assert metrics["personas.crm-outage.rung_consistency"] == pytest.approx(1 / 3)
