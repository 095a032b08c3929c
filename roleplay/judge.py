"""The small model steps of the evaluator chain: yes/no log-probability checks and rewrites.

On the embedded 1.5B model one big judging prompt gives no signal (../shared/EMBEDDED_MODEL.md),
so the model is only asked two kinds of small questions:

- a yes/no question about one trainee turn, answered with one token; P(yes) is read from the
  log-probabilities of "Yes" and "No" and compared with a threshold calibrated on the
  development set (`evals/calibration.yaml`), never taken from the text of the answer;
- a rewrite of one trainee turn about evidence the code has already fixed, as JSON read by
  LangChain's structured output (schema-constrained where the server supports it, else JSON
  mode), validated by the caller.

Output that cannot be read is retried at most twice; after that the caller gets None and the
raw text, and the principle ends `unscored`. A failed call is different: the first backend
failure (timeout, refused connection, 5xx, junk) trips the run's breaker (`Judge.for_run`), and
every later check or rewrite of that run fails at once without a request, so a dead server
costs one timeout, not one per question. What a failure leaves in the report is a short
description (`roleplay.backends.redact_error`), never the server's error body, which may echo
the request with its API key. A stronger model behind `ROLEPLAY_EVAL_MODEL` /
`ROLEPLAY_BASE_URL` runs the same steps.
"""

from __future__ import annotations

import contextlib
import copy
import hashlib
import json
import logging
import math
from collections.abc import Callable, Mapping
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import openai
from langchain_core.language_models import BaseChatModel
from langchain_core.messages import BaseMessage, HumanMessage, SystemMessage
from langchain_core.runnables import Runnable
from pydantic import BaseModel, ConfigDict, ValidationError

from roleplay.backends import ServerFeatures, redact_error
from roleplay.config import Settings
from roleplay.errors import BackendError, PromptError
from roleplay.harness.calibration import calibration_file, language_group, load_calibration
from roleplay.language import language_name
from roleplay.prompts import read_prompt

log = logging.getLogger(__name__)

MAX_RETRIES = 2

# The JSON schema of a rewrite, as a dict rather than a pydantic class: LangChain then parses
# the answer in the chain, so an unreadable one comes back as `parsing_error` next to the raw
# message instead of raising. No minLength/maxLength: llama.cpp turns them into a grammar with
# one rule per character, which made one rewrite take minutes; max_tokens bounds the length.
_REWRITE_SCHEMA: dict[str, Any] = {
    "title": "rewrite",
    "type": "object",
    "properties": {"rewrite": {"type": "string"}},
    "required": ["rewrite"],
    "additionalProperties": False,
}


class RewriteAnswer(BaseModel):
    """The judge's answer to a rewrite request, as the JSON it is asked for."""

    model_config = ConfigDict(extra="forbid", strict=True)

    rewrite: str
    """The trainee's line as the model would say it."""


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


@dataclass
class _Breaker:
    """Trips at the first backend failure of a scoring run; `reason` then says what failed."""

    reason: str | None = None


class CheckCache(Protocol):
    """Where answered yes/no checks are kept (`roleplay.scoring.ResultCache`)."""

    def get(self, key: str) -> str | None: ...

    def put(self, key: str, value: str) -> None: ...


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


def read_rewrite(answer: dict[str, Any]) -> tuple[str | None, str, str | None]:
    """Return the rewrite, the raw text and why there is none, from a structured-output answer.

    `answer` is what `with_structured_output(..., include_raw=True)` returns: the raw message,
    the parsed JSON (None when it could not be parsed) and the parsing error.
    """
    raw = answer.get("raw")
    text = "" if raw is None else raw.content if isinstance(raw.content, str) else str(raw.content)
    meta = getattr(raw, "response_metadata", None) or {}
    if meta.get("finish_reason") == "length":
        # A JSON parser repairs a string cut off at the token limit; that is half a sentence.
        return None, text, _CUT_OFF
    if answer.get("parsing_error") is not None or answer.get("parsed") is None:
        return None, text, "the answer was not JSON with a rewrite"
    try:
        rewrite = RewriteAnswer.model_validate(answer["parsed"]).rewrite.strip()
    except ValidationError:
        return None, text, "the answer was not JSON with a rewrite"
    if not rewrite:
        return None, text, "the rewrite was empty"
    return rewrite, text, None


class Judge:
    """The evaluator's model: yes/no checks and rewrites, each a small call."""

    def __init__(self, model: BaseChatModel, model_name: str, prompts_dir: Path, *,
                 thresholds: Mapping[str, float] | None = None,
                 max_retries: int = MAX_RETRIES,
                 rewrite_retries: int = 1,
                 on_error: Callable[[Exception], Exception] | None = None,
                 disabled: set[str] | None = None,
                 features: ServerFeatures | None = None):
        self.model = model
        self.features = features or ServerFeatures()
        # llama.cpp answers a prompt it partly has in its cache with slightly different
        # log-probabilities (measured: P(yes) 0.7776 cold, 0.7833 warm), enough to flip a check
        # that sits at its threshold between two runs. The yes/no checks are short, so a
        # server with a prompt cache is asked to compute them from scratch every time.
        self.check_options: dict[str, Any] = (
            {"extra_body": {"cache_prompt": False}} if self.features.prompt_cache else {})
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
        self.cache: CheckCache | None = None
        self._breaker = _Breaker()
        self._turn: Callable[[], AbstractContextManager[object]] = contextlib.nullcontext

    def for_run(self, failure: str | None = None) -> Judge:
        """Return this judge with a breaker of its own for one scoring run (`failure`: already
        tripped with that reason, so the run makes no model call)."""
        run = copy.copy(self)
        run._breaker = _Breaker(failure)
        return run

    def gated(self, turn: Callable[[], AbstractContextManager[object]]) -> Judge:
        """Return this judge asking each uncached check inside `turn()` (the scorer's turn at
        the model: after the reply in flight, one call at a time); kept answers pass at once."""
        gated = copy.copy(self)
        gated._turn = turn
        return gated

    @property
    def failure(self) -> str | None:
        """Why this run's model calls stopped (a short, redacted description), or None."""
        return self._breaker.reason

    def with_cache(self, cache: CheckCache) -> Judge:
        """Return this judge answering each yes/no check once: an answer read from the
        log-probabilities is kept in `cache` under the model, the prompt and the turn."""
        cached = copy.copy(self)
        cached.cache = cache
        return cached

    def check_key(self, question: str, customer: str, agent: str) -> str:
        """The cache key of one check: the model and every word the model is shown."""
        text = "\x1f".join((self.model_name, str(self._check_prompt.path), question,
                            customer or "", agent))
        return "check:" + hashlib.sha256(text.encode("utf-8")).hexdigest()

    def cached_check(self, question: str, customer: str, agent: str) -> CheckResult | None:
        """The kept answer of a check, or None when it was never answered (or no cache)."""
        if self.cache is None:
            return None
        found = self.cache.get(self.check_key(question, customer, agent))
        if found is None:
            return None
        data = json.loads(found)
        return CheckResult(p_yes=float(data["p_yes"]), raw=str(data["raw"]))

    def __repr__(self) -> str:
        return f"Judge(model={self.model_name!r}, features={self.features.names()})"

    @classmethod
    def from_settings(cls, settings: Settings, features: ServerFeatures | None = None) -> Judge:
        """Return a Judge on the configured evaluator model (starting the embedded server if needed).

        `features`: what the server supports, if the caller already knows (else asked once).
        """
        from roleplay.backends import describe_error, make_chat_model, server_features

        model = make_chat_model(settings, purpose="eval")
        calibration = load_calibration(calibration_file(settings), settings.eval_model)
        return cls(model, settings.eval_model, settings.prompts_dir,
                   thresholds=calibration.thresholds, disabled=set(calibration.disabled),
                   features=features or server_features(settings),
                   on_error=lambda err: describe_error(err, settings))

    def threshold(self, check_id: str, default: float, language: str = "en") -> float:
        """Return the calibrated threshold of a check for this model and language, else `default`."""
        by_group = self.thresholds.get(f"{check_id}:{language_group(language)}")
        return by_group if by_group is not None else self.thresholds.get(check_id, default)

    def enabled(self, check_id: str, language: str = "en") -> bool:
        """False when calibration found the check useless for this model and language."""
        return f"{check_id}:{language_group(language)}" not in self.disabled

    def _invoke(self, runnable: Runnable[Any, Any], messages: list[BaseMessage]) -> Any:
        if self._breaker.reason is not None:
            raise _CallFailed(self._breaker.reason, broken=True)
        try:
            return runnable.invoke(messages)
        except openai.LengthFinishReasonError:
            # With json_schema the client parses the answer itself and refuses a cut-off one.
            raise _CallFailed(_CUT_OFF, cut_off=True) from None
        except Exception as err:  # noqa: BLE001 - any client failure is reported the same way
            wrapped = self._on_error(err) if self._on_error else None
            # Only our own description goes on: str(err) of a status error holds the
            # server's body, which may echo the request (the API key, the prompt).
            reason = str(wrapped) if isinstance(wrapped, BackendError) else redact_error(err)
            if isinstance(err, openai.BadRequestError | openai.UnprocessableEntityError):
                # The server is up and refused this request (json_schema, say): a retry in
                # another form may work, so the breaker stays closed.
                raise _CallFailed(reason) from None
            self._breaker.reason = reason
            log.warning("judge model call failed (%s); no more model calls in this scoring run",
                        reason)
            # `from None`: a logged traceback of the chain would print the body again.
            if isinstance(wrapped, BackendError) and not wrapped.retryable:
                raise BackendError(reason, retryable=False) from None
            raise _CallFailed(reason, broken=True) from None

    def p_yes(self, question: str, customer: str, agent: str) -> CheckResult:
        """Ask `question` about the agent's reply; return P(yes) from the log-probabilities.

        With a cache (`with_cache`) a check answered before is not asked again; an answer
        that could not be read is not kept, so it is asked again next time.
        """
        kept = self.cached_check(question, customer, agent)
        if kept is not None:
            return kept
        with self._turn():
            result = self._ask(question, customer, agent)
        if self.cache is not None and result.p_yes is not None:
            self.cache.put(self.check_key(question, customer, agent),
                           json.dumps({"p_yes": result.p_yes, "raw": result.raw}))
        return result

    def _ask(self, question: str, customer: str, agent: str) -> CheckResult:
        rendered = self._check_prompt.render(question=question, customer=customer or "(nothing)",
                                             agent=agent)
        system, user = _split(rendered, str(self._check_prompt.path))
        messages: list[BaseMessage] = [SystemMessage(system), HumanMessage(user)]
        if not self.features.logprobs:
            return CheckResult(p_yes=None, raw="", error="the server does not return "
                               "log-probabilities (ROLEPLAY_SERVER_FEATURES)")
        check = self.model.bind(logprobs=True, top_logprobs=10, max_tokens=1, temperature=0,
                                **self.check_options)
        raws = []
        for attempt in range(self.max_retries + 1):
            try:
                answer = self._invoke(check, messages)
            except _CallFailed as err:
                raws.append(f"attempt {attempt + 1}: call failed: {err}")
                if err.broken:
                    return CheckResult(p_yes=None, raw=" | ".join(raws),
                                       error="the model could not be reached")
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
            language_name=language_name(language), title=title,
            description=description, quote=quote, problem=problem, good_example=good_example,
            customer=customer or "(nothing)", agent=agent)
        system, user = _split(rendered, str(self._rewrite_prompt.path))
        messages: list[BaseMessage] = [SystemMessage(system), HumanMessage(user)]
        result = RewriteResult(text=None)
        schema = self.features.json_schema
        for attempt in range(self.rewrite_retries + 1):
            # A retry at temperature 0 would repeat the same answer; vary it a little.
            temperature = 0.0 if attempt == 0 else 0.7
            try:
                answer = self._invoke(self._rewriter(temperature, schema), messages)
            except _CallFailed as err:
                result.raw.append(f"call failed: {err}")
                if err.cut_off:
                    result.rejections.append(_CUT_OFF)
                    continue
                result.rejections.append("the model call failed")
                if err.broken:
                    break  # the server failed: no more requests in this run
                # Some servers reject json_schema; the retry asks for plain JSON mode.
                schema = False
                continue
            parsed, text, unreadable = read_rewrite(answer)
            result.raw.append(text)
            if parsed is None:
                result.rejections.append(unreadable or "the answer was not JSON with a rewrite")
                continue
            reason = validate(parsed)
            if reason is None:
                result.text = parsed
                return result
            result.rejections.append(reason)
        return result

    def _rewriter(self, temperature: float, schema: bool) -> Runnable[Any, Any]:
        """The model asked for a rewrite as JSON, answering {raw, parsed, parsing_error}."""
        # Sampling options go on a copy of the model: a binding would not reach the model
        # inside the structured-output chain.
        model = self.model.model_copy(update={"max_tokens": 120, "temperature": temperature})
        if schema:
            return model.with_structured_output(_REWRITE_SCHEMA, method="json_schema",
                                                strict=True, include_raw=True)
        return model.with_structured_output(_REWRITE_SCHEMA, method="json_mode",
                                            include_raw=True)


_CUT_OFF = "the answer was cut off at the token limit"


class _CallFailed(Exception):
    """A model call failed in a way a retry may fix."""

    def __init__(self, message: str, cut_off: bool = False, broken: bool = False):
        super().__init__(message)
        self.cut_off = cut_off
        self.broken = broken  # the backend failed: the run's breaker is tripped
