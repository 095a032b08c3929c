"""The load test: N simulated trainees run scripted calls through the web app's own API at
the same time, and the store is checked afterwards for every line they sent.

Each trainee is a browser as far as the app can tell (its own cookie and Gradio session),
starts a call with one persona and sends `lines` lines through `/send`, each carrying a
marker of its own (`[lt-<run>-<trainee>-<line>]`), one after the other as a trainee would.
Trainees are spread over the app processes in turn. Per N it reports:

- time to first token (the first word of the customer's reply on the page) and to the
  full reply, p50 and p95, measured by the client, so the queue and the page are in it;
- errors (a turn that showed an error, or whose request failed), and among them the
  "database is locked"-type failures (also counted in the app processes' logs);
- lost turns (a line sent but not stored in the trainee's session) and misplaced ones
  (a line stored in any other session).

Bounded in count (MAX_TRAINEES, MAX_LINES) and time (`deadline_s`: no line is sent after
it), loopback only. On the stand-in backend (roleplay.standin) the replies are fixed text:
the figures are the app's and the database's, never a model's.
"""

from __future__ import annotations

import logging
import re
import statistics
import threading
import time
import uuid
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any
from urllib.parse import urlsplit

import httpx
from pydantic import BaseModel, ConfigDict

from roleplay.errors import ConfigError
from roleplay.store import TranscriptStore

log = logging.getLogger(__name__)

MAX_TRAINEES = 500
MAX_LINES = 50

LOCKED = re.compile(r"database is locked|could not serialize|deadlock detected|"
                    r"lock timeout|QueuePool limit", re.IGNORECASE)
"""What a store that cannot keep up says (SQLite, PostgreSQL, SQLAlchemy's pool)."""

LINES = (
    "I'm sorry about this, I can see why you're upset. Let me look at it now",
    "Thank you for waiting. I have your account open in front of me",
    "I understand. I will ask our team to fix it and call you back by three today",
    "You're right, that should not have happened. I have noted it on your case",
    "Is there anything else I can help you with today",
)
"""What the simulated trainees say, in turn; each line gets its own marker."""


class TurnResult(BaseModel):
    """One line sent and the reply to it, as the client saw them."""

    model_config = ConfigDict(extra="forbid")

    trainee: str
    line: str
    ttft_s: float | None = None
    """Seconds from sending to the first word of the reply (None: none came)."""
    full_s: float | None = None
    """Seconds from sending to the finished reply (None: it did not finish)."""
    waited: bool = False
    """The page said the reply was waiting in line for a model slot."""
    error: str | None = None


class LevelResult(BaseModel):
    """The figures of one level of N trainees."""

    model_config = ConfigDict(extra="forbid")

    trainees: int
    lines_per_trainee: int
    turns_sent: int
    ttft_p50_s: float | None
    ttft_p95_s: float | None
    full_p50_s: float | None
    full_p95_s: float | None
    errors: int
    lost_turns: int
    misplaced_turns: int
    locked_failures: int
    waited_turns: int
    wall_s: float
    error_samples: list[str]


def percentile(values: Sequence[float], q: float) -> float | None:
    """The `q`-th percentile (0-100) of `values`, interpolated; None if there are none."""
    if not values:
        return None
    if len(values) == 1:
        return float(values[0])
    return float(statistics.quantiles(values, n=100, method="inclusive")[int(q) - 1]
                 if 1 <= q < 100 else max(values))


def check_loopback(url: str) -> None:
    """ConfigError unless `url` is on this machine: the load test never loads others' servers."""
    host = urlsplit(url).hostname or ""
    if host not in ("127.0.0.1", "localhost", "::1"):
        raise ConfigError(f"{url}: the load test only runs against 127.0.0.1 (this machine); "
                          "start the app here and give its loopback address")


def _text(message: dict[str, Any]) -> str:
    content = message.get("content")
    if isinstance(content, list):
        return "".join(str(part.get("text", "")) for part in content if isinstance(part, dict))
    return str(content or "")


def _notes(output: Sequence[Any]) -> str:
    """The HTML of the error/notice line in one update of the /send outputs."""
    found = []
    for value in output:
        if isinstance(value, dict):
            value = value.get("value")
        if isinstance(value, str) and ("rp-error" in value or "rp-ok" in value):
            found.append(value)
    return " ".join(found)


class Trainee:
    """One simulated trainee on one app process."""

    def __init__(self, url: str, name: str, persona_id: str, lines: list[str]):
        self.url = url
        self.name = name
        self.persona_id = persona_id
        self.lines = lines
        self.results: list[TurnResult] = []

    def run(self, deadline: float) -> list[TurnResult]:
        """Start the call and send every line before `deadline` (a monotonic time)."""
        from gradio_client import Client

        try:
            # Like a browser: the page gives the cookie a call is bound to with login off.
            cookie = httpx.get(self.url, timeout=60).headers.get("set-cookie", "")
            client = Client(self.url, headers={"Cookie": cookie.split(";")[0]}, verbose=False,
                            download_files=False, analytics_enabled=False)
            client.predict(self.persona_id, self.name, api_name="/start_call")
        except Exception as err:  # noqa: BLE001 - counted, never stops the run
            self.results = [TurnResult(trainee=self.name, line=line,
                                       error=f"the call did not start: {_short(err)}")
                            for line in self.lines]
            return self.results
        for line in self.lines:
            if time.monotonic() > deadline:
                break
            result = self._send(client, line)
            self.results.append(result)
            if result.error is not None:
                self._retry(client)
        return self.results

    def _retry(self, client: Any) -> None:
        # What a trainee does after an error: Retry once, so the next line is not refused
        # for the unanswered one (the error is counted all the same).
        try:
            client.predict(api_name="/retry")
        except Exception as err:  # noqa: BLE001 - the turn's error is counted already
            log.info("%s: Retry failed too: %s", self.name, _short(err))

    def _send(self, client: Any, line: str) -> TurnResult:
        result = TurnResult(trainee=self.name, line=line)
        start = time.monotonic()
        try:
            job = client.submit(line, api_name="/send")
            last: Sequence[Any] = ()
            for output in job:
                last = output
                notes = _notes(output)
                result.waited = result.waited or "in line" in notes
                chat = output[0] if output and isinstance(output[0], list) else []
                if (result.ttft_s is None and len(chat) >= 2 and chat[-1].get("role") ==
                        "assistant" and _text(chat[-2]) == line and _text(chat[-1]) != "…"):
                    result.ttft_s = time.monotonic() - start
            outputs = job.outputs()
            last = outputs[-1] if outputs else last
            if "rp-error" in _notes(last):
                result.error = re.sub(r"<[^>]+>", "", _notes(last)).strip()[:300]
            else:
                chat = last[0] if last and isinstance(last[0], list) else []
                if chat and chat[-1].get("role") == "assistant" and _text(chat[-2]) == line:
                    result.full_s = time.monotonic() - start
                    if result.ttft_s is None:
                        result.ttft_s = result.full_s  # one update carried the whole reply
                else:
                    result.error = "the reply did not appear on the page"
        except Exception as err:  # noqa: BLE001 - an error of this turn, not of the run
            result.error = _short(err)
        return result


def _short(err: BaseException) -> str:
    return f"{type(err).__name__}: {str(err)[:300]}"


def run_level(urls: Sequence[str], trainees: int, lines: int, store: TranscriptStore,
              persona_id: str, deadline_s: float = 600.0,
              logs: Callable[[], list[str]] | None = None) -> LevelResult:
    """Run `trainees` simulated trainees at once, `lines` lines each, spread over `urls`;
    then check the store for every line sent. `logs`: the app processes' output so far,
    whose new 'database is locked'-type lines are counted too."""
    if not 1 <= trainees <= MAX_TRAINEES or not 1 <= lines <= MAX_LINES:
        raise ConfigError(f"trainees must be 1-{MAX_TRAINEES} and lines 1-{MAX_LINES}")
    for url in urls:
        check_loopback(url)
    run = uuid.uuid4().hex[:6]
    crowd = [Trainee(urls[i % len(urls)], f"lt-{run}-{i:03d}", persona_id,
                     [f"{LINES[j % len(LINES)]} [lt-{run}-{i:03d}-{j}]" for j in range(lines)])
             for i in range(trainees)]
    locked_before = _locked_in(logs)
    start = time.monotonic()
    deadline = start + deadline_s
    barrier = threading.Barrier(trainees)

    def go(trainee: Trainee) -> list[TurnResult]:
        barrier.wait()  # every trainee starts together: that is the load
        return trainee.run(deadline)

    with ThreadPoolExecutor(max_workers=trainees) as pool:
        results = [r for rs in pool.map(go, crowd) for r in rs]
    wall = time.monotonic() - start
    lost, misplaced = verify(store, crowd, run)
    ttft = [r.ttft_s for r in results if r.ttft_s is not None and r.error is None]
    full = [r.full_s for r in results if r.full_s is not None and r.error is None]
    errors = [r.error for r in results if r.error]
    locked = sum(1 for e in errors if LOCKED.search(e)) + _locked_in(logs) - locked_before
    return LevelResult(
        trainees=trainees, lines_per_trainee=lines, turns_sent=len(results),
        ttft_p50_s=percentile(ttft, 50), ttft_p95_s=percentile(ttft, 95),
        full_p50_s=percentile(full, 50), full_p95_s=percentile(full, 95),
        errors=len(errors), lost_turns=lost, misplaced_turns=misplaced, locked_failures=locked,
        waited_turns=sum(1 for r in results if r.waited), wall_s=round(wall, 2),
        error_samples=sorted(set(errors))[:5])


def _locked_in(logs: Callable[[], list[str]] | None) -> int:
    return sum(len(LOCKED.findall(text)) for text in logs()) if logs else 0


def verify(store: TranscriptStore, crowd: Sequence[Trainee], run: str) -> tuple[int, int]:
    """Lost lines (sent, not in the trainee's own session) and misplaced ones (in another)."""
    marker = re.compile(rf"\[lt-{run}-(\d+)-(\d+)\]")
    stored: dict[str, list[tuple[str, str]]] = {}
    for info in store.list_sessions():
        if not info.user or not info.user.startswith(f"lt-{run}-"):
            continue
        for turn in store.load(info.session_id).turns:
            found = marker.search(turn.content) if turn.role == "trainee" else None
            if found:
                stored.setdefault(info.user, []).append((info.session_id, turn.content))
    lost = misplaced = 0
    for trainee in crowd:
        own = stored.get(trainee.name, [])
        sessions = {sid for sid, _ in own}
        texts = [text for _, text in own]
        misplaced += sum(1 for text in texts
                         if f"lt-{run}-{trainee.name.rsplit('-', 1)[1]}-" not in text)
        if len(sessions) > 1:
            misplaced += len(texts)  # one call's lines spread over several sessions
        # A line the app accepted: answered, or failed after it was saved (the page says so).
        accepted = [r.line for r in trainee.results
                    if r.error is None or "saved" in r.error or "could not answer" in r.error]
        lost += sum(1 for line in accepted if line not in texts)
    return lost, misplaced


def summary(levels: Sequence[LevelResult]) -> str:
    """The per-N table the command prints."""
    def s(x: float | None) -> str:
        return "-" if x is None else f"{x:.2f}"

    rows = [("    N  turns  ttft p50/p95 s   full p50/p95 s   errors  lost  misplaced  "
             "locked  waited  wall s")]
    for lv in levels:
        rows.append(f"{lv.trainees:5d}  {lv.turns_sent:5d}  {s(lv.ttft_p50_s):>6}/"
                    f"{s(lv.ttft_p95_s):<7}  {s(lv.full_p50_s):>6}/{s(lv.full_p95_s):<7}  "
                    f"{lv.errors:6d}  {lv.lost_turns:4d}  {lv.misplaced_turns:9d}  "
                    f"{lv.locked_failures:6d}  {lv.waited_turns:6d}  {lv.wall_s:6.1f}")
        rows.extend(f"       error: {e}" for e in lv.error_samples)
    return "\n".join(rows)
