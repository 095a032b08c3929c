"""The small model steps of the evaluator chain: yes/no log-probability checks and rewrites.

On the embedded 1.5B model one big judging prompt gives no signal (../shared/EMBEDDED_MODEL.md),
so the model is only asked two kinds of small questions:

- a yes/no question about one trainee turn, answered with one token; P(yes) is read from the
  log-probabilities of "Yes" and "No" and compared with a threshold calibrated on the
  development set (`evals/calibration.yaml`), never taken from the text of the answer;
- a rewrite of one trainee turn about evidence the code has already fixed, as JSON
  (schema-constrained where the server supports it), validated by the caller.

Output that cannot be read is retried at most twice; after that the caller gets None and the
raw text, and the principle ends `unscored`. A stronger model behind `ROLEPLAY_EVAL_MODEL` /
`ROLEPLAY_BASE_URL` runs the same steps.
"""

from __future__ import annotations

import json
import logging
import math
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from langchain_core.language_models import BaseChatModel
from langchain_core.messages import BaseMessage, HumanMessage, SystemMessage

from roleplay.config import PROJECT_ROOT, Settings
from roleplay.errors import BackendError, PromptError
from roleplay.prompts import read_prompt

log = logging.getLogger(__name__)

CALIBRATION_PATH = PROJECT_ROOT / "evals" / "calibration.yaml"
MAX_RETRIES = 2

LANGUAGE_NAMES = {"en": "English", "fi": "Finnish", "no": "Norwegian (bokmål)",
                  "lv": "Latvian", "hu": "Hungarian"}

_REWRITE_SCHEMA: dict[str, Any] = {
    "type": "json_schema",
    "json_schema": {
        "name": "rewrite",
        "strict": True,
        "schema": {
            "type": "object",
            # No minLength/maxLength: llama.cpp turns them into a grammar with one rule per
            # character, which made one rewrite take minutes; max_tokens bounds the length.
            "properties": {"rewrite": {"type": "string"}},
            "required": ["rewrite"],
            "additionalProperties": False,
        },
    },
}


@dataclass
class CheckResult:
    """The answer to one yes/no check: P(yes), or None with the reason, and what came back."""

    p_yes: float | None
    raw: str
    error: str | None = None


@dataclass
class RewriteResult:
    """A validated rewrite, or None after the retries, with every raw answer and rejection."""

    text: str | None
    raw: list[str] = field(default_factory=list)
    rejections: list[str] = field(default_factory=list)


def language_group(language: str) -> str:
    """Calibration group of a language: "en", or "other" for the seed languages.

    The small model reads English far better than Finnish or Latvian, so its checks are
    calibrated (and switched off) separately for the two groups.
    """
    return "en" if language == "en" else "other"


def load_calibration(model_name: str,
                     path: Path = CALIBRATION_PATH) -> tuple[dict[str, float], set[str]]:
    """Return `model_name`'s thresholds and the checks switched off, keyed "check:group".

    Unknown models get ({}, set()): the rubric's default thresholds, every check on.
    """
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except FileNotFoundError:
        return {}, set()
    except (OSError, yaml.YAMLError) as err:
        log.warning("cannot read calibration file %s: %s; using default thresholds", path, err)
        return {}, set()
    models = data.get("models") if isinstance(data, dict) else None
    entry = models.get(model_name) if isinstance(models, dict) else None
    if not isinstance(entry, dict):
        if entry is not None or (models is not None and not isinstance(models, dict)):
            log.warning("calibration file %s is malformed; using default thresholds", path)
        return {}, set()
    thresholds: dict[str, float] = {}
    disabled: set[str] = set()
    # Decisions a person took after reading the measurements, kept apart from the fitted
    # values so that re-calibrating does not silently undo them.
    overrides = (data.get("overrides") or {}).get(model_name) or {}
    for key, setting in overrides.items() if isinstance(overrides, dict) else ():
        if isinstance(setting, dict) and setting.get("use") is False:
            disabled.add(str(key))
    for check, values in entry.items():
        if not isinstance(values, dict):
            continue
        if isinstance(values.get("threshold"), int | float):
            thresholds[str(check)] = float(values["threshold"])
        for group in ("en", "other"):
            setting = values.get(group)
            if not isinstance(setting, dict):
                continue
            if isinstance(setting.get("threshold"), int | float):
                thresholds[f"{check}:{group}"] = float(setting["threshold"])
            if setting.get("use") is False:
                disabled.add(f"{check}:{group}")
    return thresholds, disabled


def load_thresholds(model_name: str, path: Path = CALIBRATION_PATH) -> dict[str, float]:
    """Return the calibrated thresholds of `model_name` ({} if none)."""
    return load_calibration(model_name, path)[0]


def _split(rendered: str, path: str) -> tuple[str, str]:
    system, sep, user = rendered.partition("\n---\n")
    if not sep:
        raise PromptError(f"{path}: expected a line '---' between the system and the user part")
    return system.strip(), user.strip()


def yes_no_probability(message: BaseMessage) -> tuple[float | None, str]:
    """Return P(yes) from the first token's top log-probabilities, and a readable raw string."""
    meta = message.response_metadata.get("logprobs") if message.response_metadata else None
    text = message.content if isinstance(message.content, str) else str(message.content)
    try:
        first = meta["content"][0]  # type: ignore[index]
        tops = first.get("top_logprobs") or [{"token": first["token"], "logprob": first["logprob"]}]
    except (TypeError, KeyError, IndexError):
        return None, f"no log-probabilities in the answer; text: {text!r}"
    yes = no = 0.0
    shown = []
    for top in tops:
        token = str(top.get("token", ""))
        logprob = top.get("logprob")
        if not isinstance(logprob, int | float):
            continue
        word = token.strip().strip(".,!:;\"'").lower()
        shown.append(f"{token!r}:{logprob:.2f}")
        if word == "yes":
            yes += math.exp(logprob)
        elif word == "no":
            no += math.exp(logprob)
    raw = f"answer {text!r}; top tokens " + ", ".join(shown[:10])
    if yes + no == 0.0:
        return None, raw + "; neither Yes nor No among them"
    return yes / (yes + no), raw


_FENCE = re.compile(r"^```(?:json)?\s*|\s*```$", re.MULTILINE)
_LOOSE = re.compile(r'"rewrite"\s*:\s*"((?:[^"\\]|\\.)*)"', re.DOTALL)


def parse_rewrite(text: str) -> str | None:
    """Return the "rewrite" string of a JSON answer, repairing code fences and stray text."""
    cleaned = _FENCE.sub("", text.strip())
    candidates = [cleaned]
    start, end = cleaned.find("{"), cleaned.rfind("}")
    if 0 <= start < end:
        candidates.append(cleaned[start:end + 1])
    for candidate in candidates:
        try:
            data = json.loads(candidate)
        except json.JSONDecodeError:
            continue
        if isinstance(data, dict) and isinstance(data.get("rewrite"), str):
            return str(data["rewrite"]).strip() or None
    loose = _LOOSE.search(cleaned)
    if loose:
        try:
            return str(json.loads(f'"{loose.group(1)}"')).strip() or None
        except json.JSONDecodeError:
            return None
    return None


class Judge:
    """The evaluator's model: yes/no checks and rewrites, each a small call."""

    def __init__(self, model: BaseChatModel, model_name: str,
                 thresholds: Mapping[str, float] | None = None,
                 prompts_dir: Path = PROJECT_ROOT / "prompts",
                 max_retries: int = MAX_RETRIES,
                 rewrite_retries: int = 1,
                 on_error: Callable[[Exception], Exception] | None = None,
                 disabled: set[str] | None = None,
                 check_options: Mapping[str, Any] | None = None):
        self.model = model
        self.check_options = dict(check_options or {})
        self.model_name = model_name
        self.thresholds = dict(thresholds or {})
        self.disabled = set(disabled or ())
        self.max_retries = max_retries
        # Rewrites cost tens of seconds each on the embedded model and a failed one has an
        # honest fallback (the rubric's example), so they get one retry; checks get two.
        self.rewrite_retries = min(rewrite_retries, max_retries)
        self._check_prompt = read_prompt("judge_check", prompts_dir)
        self._rewrite_prompt = read_prompt("judge_rewrite", prompts_dir)
        self._check_prompt.check({"customer", "agent", "question"})
        self._rewrite_prompt.check({"language_name", "title", "description", "quote", "problem",
                                    "good_example", "customer", "agent"})
        self._on_error = on_error

    @classmethod
    def from_settings(cls, settings: Settings) -> Judge:
        """Return a Judge on the configured evaluator model (starting the embedded server if needed)."""
        from roleplay.backends import describe_error, make_chat_model

        model = make_chat_model(settings, purpose="eval")
        thresholds, disabled = load_calibration(settings.eval_model)
        # llama.cpp answers a prompt it partly has in its cache with slightly different
        # log-probabilities (measured: P(yes) 0.7776 cold, 0.7833 warm), enough to flip a check
        # that sits at its threshold between two runs. The yes/no checks are short, so the
        # embedded server is asked to compute them from scratch every time.
        options = {"extra_body": {"cache_prompt": False}} if settings.embedded else {}
        return cls(model, settings.eval_model, thresholds=thresholds, disabled=disabled,
                   prompts_dir=settings.prompts_dir, check_options=options,
                   on_error=lambda err: describe_error(err, settings))

    def threshold(self, check_id: str, default: float, language: str = "en") -> float:
        """Return the calibrated threshold of a check for this model and language, else `default`."""
        by_group = self.thresholds.get(f"{check_id}:{language_group(language)}")
        return by_group if by_group is not None else self.thresholds.get(check_id, default)

    def enabled(self, check_id: str, language: str = "en") -> bool:
        """False when calibration found the check useless for this model and language."""
        return f"{check_id}:{language_group(language)}" not in self.disabled

    def _invoke(self, messages: list[BaseMessage], **kwargs: Any) -> BaseMessage:
        try:
            return self.model.bind(**kwargs).invoke(messages)
        except Exception as err:  # any client failure is reported the same way
            wrapped = self._on_error(err) if self._on_error else err
            if isinstance(wrapped, BackendError) and not wrapped.retryable:
                raise wrapped from err
            raise _CallFailed(f"{type(err).__name__}: {err}") from err

    def p_yes(self, question: str, customer: str, agent: str) -> CheckResult:
        """Ask `question` about the agent's reply; return P(yes) from the log-probabilities."""
        rendered = self._check_prompt.render(question=question, customer=customer or "(nothing)",
                                             agent=agent)
        system, user = _split(rendered, str(self._check_prompt.path))
        messages: list[BaseMessage] = [SystemMessage(system), HumanMessage(user)]
        raws = []
        for attempt in range(self.max_retries + 1):
            try:
                answer = self._invoke(messages, logprobs=True, top_logprobs=10, max_tokens=1,
                                      temperature=0, **self.check_options)
            except _CallFailed as err:
                raws.append(f"attempt {attempt + 1}: call failed: {err}")
                continue
            p, raw = yes_no_probability(answer)
            if p is not None:
                return CheckResult(p_yes=p, raw=raw)
            raws.append(f"attempt {attempt + 1}: {raw}")
        return CheckResult(p_yes=None, raw=" | ".join(raws),
                           error=f"no usable yes/no answer after {self.max_retries + 1} attempts")

    def rewrite(self, *, title: str, description: str, quote: str, problem: str,
                good_example: str, customer: str, agent: str, language: str,
                validate: Callable[[str], str | None]) -> RewriteResult:
        """Ask for a better version of `agent`; `validate` returns a rejection reason or None."""
        rendered = self._rewrite_prompt.render(
            language_name=LANGUAGE_NAMES.get(language, language), title=title,
            description=description, quote=quote, problem=problem, good_example=good_example,
            customer=customer or "(nothing)", agent=agent)
        system, user = _split(rendered, str(self._rewrite_prompt.path))
        messages: list[BaseMessage] = [SystemMessage(system), HumanMessage(user)]
        result = RewriteResult(text=None)
        schema: dict[str, Any] = {"response_format": _REWRITE_SCHEMA}
        for attempt in range(self.rewrite_retries + 1):
            # A retry at temperature 0 would repeat the same answer; vary it a little.
            temperature = 0.0 if attempt == 0 else 0.7
            try:
                answer = self._invoke(messages, max_tokens=120, temperature=temperature, **schema)
            except _CallFailed as err:
                result.raw.append(f"call failed: {err}")
                result.rejections.append("the model call failed")
                # Some servers reject json_schema; the retry asks for plain text and repairs it.
                schema = {}
                continue
            text = answer.content if isinstance(answer.content, str) else str(answer.content)
            result.raw.append(text)
            parsed = parse_rewrite(text)
            if parsed is None:
                result.rejections.append("the answer was not JSON with a rewrite")
                continue
            reason = validate(parsed)
            if reason is None:
                result.text = parsed
                return result
            result.rejections.append(reason)
        return result


class _CallFailed(Exception):
    """A model call failed in a way a retry may fix."""
