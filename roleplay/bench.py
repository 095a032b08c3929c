"""`roleplay bench`: the engine's cost over the bare model server, cold and warm.

For each run, the same customer turns are timed twice: through ConversationEngine.stream()
(prompt building, trimming, character checks, storing, the LangChain client) and sent
straight to the server with the `openai` client (the engine's own prompt text, same stops,
max_tokens and temperature). Three cases:

- cold: a prompt the server has never seen (a fresh marker in the first line of the prompt),
  asked for at once, as a trainee who types before the warm-up finished would;
- first reply after warm-up: the persona prefix was processed at session start (the engine
  does this itself; the direct path sends the same prefix first);
- warm: the next turn of the call, whose prefix the server's prompt cache still holds.

Time to first token (TTFT) is measured from the call to the first visible text (for the
engine, of the first attempt, even if it is regenerated); tokens per second over the model's
non-empty pieces after the first (llama.cpp streams one token per piece).
"""

from __future__ import annotations

import math
import os
import platform
import statistics
import time
import uuid
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import openai

from roleplay.appraisal import appraiser_from_settings, time_appraisal
from roleplay.backends import CustomerModel, endpoint
from roleplay.config import Settings
from roleplay.conversation import (
    TEMPERATURES,
    ConversationEngine,
    Restart,
    Session,
    Token,
)
from roleplay.customer_prompt import AGENT_LABEL, speaker_label
from roleplay.errors import ConfigError
from roleplay.personas import Persona
from roleplay.store import SqliteStore

TRAINEE_LINES = (
    "I'm sorry this happened. Can you tell me what you see on your screen right now?",
    "Thank you. I'm escalating it now and I'll call you back within 30 minutes.",
)
CASES = ("cold", "first reply after warm-up", "warm (next turn)")


@dataclass
class Timing:
    """One reply: seconds to the first visible text, and the generation rate."""

    ttft: float
    tokens_per_s: float | None
    restarts: int = 0


@dataclass
class Results:
    """Every timing, by case and by path ("engine" or "direct")."""

    timings: dict[tuple[str, str], list[Timing]] = field(default_factory=dict)
    prompt_tokens: list[int] = field(default_factory=list)
    appraisal: list[tuple[float, float]] = field(default_factory=list)
    """The appraisal of each trainee line alone: (wall s, CPU s of this process)."""
    appraiser: str = ""

    def add(self, case: str, path: str, timing: Timing) -> None:
        self.timings.setdefault((case, path), []).append(timing)


def _rate(times: Sequence[float]) -> float | None:
    return (len(times) - 1) / (times[-1] - times[0]) if len(times) > 2 else None


class _Recorder(CustomerModel):
    """The engine's model, recording each prompt and when each piece arrived."""

    def __init__(self, settings: Settings):
        super().__init__(settings)
        self.prompts: list[str] = []
        self.pieces: list[list[float]] = []
        self.warmed: list[str] = []

    def stream(self, prompt: str, stop: list[str], max_tokens: int = 96,
               temperature: float = 0.8, avoid: Sequence[str] = ()) -> Iterator[str]:
        times: list[float] = []
        if max_tokens == 1:
            self.warmed.append(prompt)
        else:
            self.prompts.append(prompt)
            self.pieces.append(times)
        # Called now, not from a generator's first step: CustomerModel.stream reads the
        # engine's reply-start grammar when called, and the engine's grammar block ends
        # before the first piece is asked for. Lazily, the bench would time replies
        # without the grammar the app sends.
        return _timed(super().stream(prompt, stop, max_tokens, temperature, avoid), times)


def _timed(pieces: Iterator[str], times: list[float]) -> Iterator[str]:
    for piece in pieces:
        if piece:  # the server opens the stream with an empty piece before any token
            times.append(time.perf_counter())
        yield piece


def _engine_turn(engine: ConversationEngine, model: _Recorder, session: Session,
                 line: str) -> Timing:
    start = time.perf_counter()
    first: float | None = None
    restarts = 0
    for event in engine.stream(session, line):
        if isinstance(event, Token) and first is None:
            first = time.perf_counter() - start
        elif isinstance(event, Restart):
            restarts += 1
    return Timing(ttft=first or float("nan"), tokens_per_s=_rate(model.pieces[-1]),
                  restarts=restarts)


def _direct(client: openai.OpenAI, settings: Settings, prompt: str, stop: list[str],
            max_tokens: int) -> Timing:
    start = time.perf_counter()
    times: list[float] = []
    first: float | None = None
    stream = client.completions.create(model=settings.model, prompt=prompt, stop=stop,
                                       max_tokens=max_tokens, temperature=TEMPERATURES[0],
                                       stream=True)
    for chunk in stream:
        now = time.perf_counter()
        text = chunk.choices[0].text if chunk.choices else ""
        if text:
            times.append(now)
        if first is None and text.strip():
            first = now - start
    return Timing(ttft=first or float("nan"), tokens_per_s=_rate(times))


def _fresh(persona: Persona) -> tuple[Persona, str]:
    # A marker in the company name changes the prompt's first line, so nothing is cached.
    marker = f"(ref {uuid.uuid4().hex[:8]})"
    return persona.model_copy(update={"company": f"{persona.company} {marker}"}), marker


def run_bench(settings: Settings, persona: Persona, runs: int,
              progress: bool = True) -> Results:
    """Time `runs` calls of each case on both paths; return every timing."""
    if settings.prompt_style != "completion":
        raise ConfigError("the benchmark compares /v1/completions calls; set "
                          "ROLEPLAY_PROMPT_STYLE=completion or use a completion backend")
    model = _Recorder(settings)
    # The engine's own appraiser, so its cost is inside the engine's TTFT as in a real call.
    appraiser = appraiser_from_settings(settings)
    engine = ConversationEngine(model, SqliteStore(":memory:"), settings.prompts_dir,
                                settings.context_tokens, appraiser=appraiser)
    client = openai.OpenAI(base_url=endpoint(settings),
                           api_key=(settings.api_key.get_secret_value() if settings.api_key
                                    else "not-needed"),
                           timeout=settings.timeout, max_retries=0)
    label = speaker_label(persona)
    stop = [f"\n{AGENT_LABEL}:", f"\n{label}:", "\n\n"]
    results = Results(appraiser=appraiser.name)
    for run in range(runs):
        for warmed in (False, True):
            first_case = CASES[1] if warmed else CASES[0]
            # Engine: start (its warm-up runs in the background), then two turns.
            fresh, marker = _fresh(persona)
            session = engine.start(fresh, sandbox=True)
            if warmed:
                engine._wait_warm(session)
            results.add(first_case, "engine",
                        _engine_turn(engine, model, session, TRAINEE_LINES[0]))
            results.add(CASES[2], "engine",
                        _engine_turn(engine, model, session, TRAINEE_LINES[1]))
            prompts = model.prompts[-2:]
            # Direct: the engine's own prompts under another fresh marker.
            other = _fresh(persona)[1]
            direct = [p.replace(marker, other) for p in prompts]
            if warmed:
                _direct(client, settings, model.warmed[-1].replace(marker, other), stop, 1)
            results.add(first_case, "direct", _direct(client, settings, direct[0], stop,
                                                      engine.max_tokens))
            results.add(CASES[2], "direct", _direct(client, settings, direct[1], stop,
                                                    engine.max_tokens))
            results.prompt_tokens.append(_prompt_tokens(prompts[0]))
            results.appraisal += [time_appraisal(appraiser, line, persona.language)
                                  for line in TRAINEE_LINES]
            if progress:
                print(f"run {run + 1}/{runs} {'warmed' if warmed else 'cold'} done",
                      flush=True)
    return results


def _prompt_tokens(prompt: str) -> int:
    from roleplay.tokens import count_tokens

    return count_tokens(prompt)


def machine() -> str:
    """Return the CPU model, core count and memory of this machine, in one line."""
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    ram = ""
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal"):
                ram = f", {int(line.split()[1]) / 1024 / 1024:.0f} GiB RAM"
                break
    except OSError:
        pass
    load = ""
    if hasattr(os, "getloadavg"):
        load = f", load average {os.getloadavg()[0]:.1f}"
    return f"{cpu}, {os.cpu_count()} cores{ram}{load}; Python {platform.python_version()}"


def _median(values: list[float | None]) -> float | None:
    kept = [v for v in values if v is not None and not math.isnan(v)]
    return statistics.median(kept) if kept else None


def _fmt(value: float | None, digits: int = 2) -> str:
    return "-" if value is None else f"{value:.{digits}f}"


def format_table(results: Results, settings: Settings, persona: Persona, runs: int) -> str:
    """Return the benchmark as a Markdown table with the engine/direct ratios."""
    where = settings.base_url or settings.azure_endpoint or "embedded llama.cpp server"
    tokens: list[float | None] = [float(t) for t in results.prompt_tokens]
    lines = [
        f"machine: {machine()}",
        f"backend: {where}, model {settings.model}"
        + (f", {settings.local_threads} threads" if settings.embedded else ""),
        (f"persona: {persona.id}; first prompt about {_fmt(_median(tokens), 0)} cl100k tokens; "
        f"{runs} run(s) per case, medians"),
        "",
        ("| case | direct TTFT s | engine TTFT s | TTFT ratio | direct tok/s | engine tok/s "
        "| tok/s ratio | engine regenerations |"),
        "|---|---|---|---|---|---|---|---|",
    ]
    for case in CASES:
        d = results.timings.get((case, "direct"), [])
        e = results.timings.get((case, "engine"), [])
        d_ttft, e_ttft = _median([t.ttft for t in d]), _median([t.ttft for t in e])
        d_rate = _median([t.tokens_per_s for t in d])
        e_rate = _median([t.tokens_per_s for t in e])
        ttft_ratio = e_ttft / d_ttft if d_ttft and e_ttft else None
        rate_ratio = e_rate / d_rate if d_rate and e_rate else None
        lines.append(f"| {case} | {_fmt(d_ttft)} | {_fmt(e_ttft)} | {_fmt(ttft_ratio)} | "
                     f"{_fmt(d_rate, 1)} | {_fmt(e_rate, 1)} | {_fmt(rate_ratio)} | "
                     f"{sum(t.restarts for t in e)} |")
    warm = _median([t.ttft for t in results.timings.get((CASES[2], "direct"), [])])
    wall = _median([w for w, _ in results.appraisal])
    cpu = _median([c for _, c in results.appraisal])
    ratio = wall / warm if wall and warm else None
    header = "| appraisal per trainee line (inside engine TTFT) | wall s | CPU s | / warm TTFT |"
    lines += ["", header, "|---|---|---|---|",
              f"| {results.appraiser} | {_fmt(wall)} | {_fmt(cpu)} | {_fmt(ratio)} |"]
    return "\n".join(lines)


def main(settings: Settings, persona: Persona, runs: int) -> str:
    """Run the benchmark and return its table, with the whole run's wall and CPU seconds."""
    wall, cpu = time.perf_counter(), time.process_time()
    results = run_bench(settings, persona, runs)
    return format_table(results, settings, persona, runs) + (
        f"\n\nwhole bench: {time.perf_counter() - wall:.0f} s wall, "
        f"{time.process_time() - cpu:.0f} s CPU of this process (model servers included)")

