"""The conversation engine: one trainee turn in, the customer's next line streamed out.

CONTRACT (the web app, the CLI and the eval harness are written against it):

    engine = ConversationEngine(model, store, prompts_dir, context_tokens)
    session = engine.start(persona, user="ann")          # opening line saved, prompt warmed
    for event in engine.stream(session, "I'm sorry..."):  # trainee turn saved first
        MoodUpdate -> Waiting* -> Token* -> (Restart -> Token*)* -> Reply
    engine.reply(session, text) -> Turn                   # the same, without streaming
    engine.retry(session) -> Iterator[ReplyEvent]         # answer a saved trainee turn again
    engine.resume(session_id, personas) -> Session        # every committed turn, from the store
    engine.gate: ReplyGate                                # busy while a reply is being made
    engine.slots: ModelSlots                              # replies asked at once; the line
    engine.on_reply = scorer.prepare                      # called after each stored reply

A BackendError raised from stream()/retry() leaves the trainee turn saved and
`session.transcript.awaiting_reply` True, so the caller can offer retry(); so does a reply
that waited `slots.max_wait` seconds for a model slot (Waiting says where it is meanwhile).
"""

from __future__ import annotations

import logging
import re
import threading
from collections.abc import Callable, Generator, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from roleplay.appraisal import Appraiser, LexicalAppraiser, appraiser_from_settings
from roleplay.backends import CustomerModel, ServerFeatures
from roleplay.character import FOREIGN_SCRIPTS, SOFT_KINDS, CharacterCheck, Verdict
from roleplay.config import Settings
from roleplay.customer_prompt import AGENT_LABEL, PromptBuilder, speaker_label, stop_sequences
from roleplay.errors import BackendError, RoleplayError, StoreError
from roleplay.grammar import reply_grammar
from roleplay.mood import MoodChange, Rung
from roleplay.personas import Persona
from roleplay.slots import ModelSlots, ReplyGate, Waiting, take_slot
from roleplay.store import TranscriptStore, open_store
from roleplay.text import whole_sentences
from roleplay.transcript import Transcript, Turn

log = logging.getLogger(__name__)

MAX_TOKENS = 80
"""Longest customer reply, in tokens: one or two spoken sentences."""

CUE_WORDS = 4
"""A parenthesis this short at the start of a reply is an acting cue such as "(sighs)"."""

SALVAGE_WORDS = 3
"""Fewest words of a broken attempt worth keeping when every attempt broke."""

REGENERATIONS = 2
"""How many times a reply that breaks character is generated again before giving up."""

# The first attempt is the one the persona was tuned on; regenerations get more randomness,
# since repeating the same sampling on the same prompt tends to repeat the same break.
TEMPERATURES = (0.7, 0.9, 1.0)


@dataclass(frozen=True)
class MoodUpdate:
    """The trainee turn was appraised and saved; the customer's rung is now `change.after`."""

    change: MoodChange
    turn: Turn


@dataclass(frozen=True)
class Token:
    """A piece of the customer's reply as it is generated."""

    text: str


@dataclass(frozen=True)
class Restart:
    """The reply so far broke character and is being regenerated: discard what was shown."""

    reason: str


@dataclass(frozen=True)
class Reply:
    """The customer's reply, checked and saved."""

    turn: Turn


ReplyEvent = MoodUpdate | Waiting | Token | Restart | Reply


@dataclass
class Session:
    """A call in progress: the persona and the transcript so far."""

    persona: Persona
    transcript: Transcript
    sandbox: bool = False
    user: str | None = None
    notes: list[str] = field(default_factory=list)
    """What happened behind the scenes: regenerations and why, lines trimmed from the prompt."""

    @property
    def session_id(self) -> str:
        assert self.transcript.session_id is not None
        return self.transcript.session_id


class _Broken(Exception):
    def __init__(self, verdict: Verdict):
        self.verdict = verdict
        super().__init__(str(verdict))


class ReplyText:
    """The visible reply while it streams: the model's text cut down to the customer's line.

    The model continues the transcript, so after the customer's line it may start the next
    speaker's; everything from the first line break on is not part of the reply. Leading
    whitespace, a repeated own label ("Dana: ...") and trailing whitespace are held back, so
    that what has been shown is always a prefix of what is finally saved.
    """

    def __init__(self, label: str, opener: str = ""):
        self.raw = f" {opener}" if opener else ""
        self.label = label
        self.done = False
        self._after_opener = bool(opener)

    def add(self, piece: str) -> None:
        if self._after_opener and piece:
            # The model goes on from words it was given ("Damn it,"); a first piece without
            # its space would glue onto them.
            self._after_opener = False
            if not piece[0].isspace() and piece[0] not in ",.!?;:":
                piece = " " + piece
        self.raw += piece

    def text(self) -> str:
        """Return the reply so far, cleaned; sets `done` once the line has ended."""
        text = self.raw.lstrip()
        for own in (f"{self.label}:", f"{AGENT_LABEL}:"):
            if own.startswith(text) and not self.done:
                return ""  # could still become a label: wait for more
        if text.startswith(f"{self.label}:"):
            text = text[len(self.label) + 1:].lstrip()
        if text.startswith("("):
            # "(Angrily) How long..." - an acting cue copied from the stage-direction style;
            # the trainee hears the words, not the cue. Held back until it closes.
            close = text.find(")")
            if close < 0 and not self.done:
                return ""
            if 0 < close and len(text[1:close].split()) <= CUE_WORDS:
                text = text[close + 1:].lstrip()
        if "\n" in text:
            text = text.split("\n", 1)[0]
            self.done = True
        return text.strip() if self.done else text.rstrip()

    def checkable(self) -> str:
        """Return the reply up to its last complete word: a half word can look like another."""
        text = self.text()
        if self.done:
            return text
        m = re.search(r"[\W_]+\w*$", text)
        return text[:m.start()] if m else ""


class ConversationEngine:
    """Plays personas on a CustomerModel and keeps every turn in a TranscriptStore."""

    def __init__(self, model: CustomerModel, store: TranscriptStore, prompts_dir: Path,
                 context_tokens: int = 4096, max_tokens: int = MAX_TOKENS,
                 appraiser: Appraiser | None = None, gate: ReplyGate | None = None,
                 slots: ModelSlots | None = None):
        self.model = model
        self.gate = gate or ReplyGate()
        # Replies beyond the model's slots wait here, where the trainee can be told so.
        self.slots = slots or ModelSlots(capacity=2)
        # Called with the session id after each customer reply is stored; the web app sets
        # it to `Scorer.prepare`, which must return at once (it queues background work).
        self.on_reply: Callable[[str], None] | None = None
        # Decides the moves of each trainee line; the phrase lists unless one is given.
        self.appraiser: Appraiser = appraiser or LexicalAppraiser()
        self.store = store
        self.prompts_dir = prompts_dir
        self.context_tokens = context_tokens
        self.max_tokens = max_tokens
        self._builders: dict[str, PromptBuilder] = {}
        self._warming: dict[str, threading.Thread] = {}
        self._lock = threading.Lock()

    @classmethod
    def from_settings(cls, settings: Settings, store: TranscriptStore | None = None,
                      features: ServerFeatures | None = None) -> ConversationEngine:
        """Return an engine on the configured backend and store (roleplay.store.open_store).

        `features`: what the server supports, if the caller knows (else asked on first use).
        """
        return cls(CustomerModel(settings, features=features),
                   store or open_store(settings),
                   settings.prompts_dir, settings.context_tokens,
                   appraiser=appraiser_from_settings(settings),
                   slots=ModelSlots(settings.concurrency, settings.queue_timeout))

    # --- sessions --------------------------------------------------------------------

    def builder(self, persona: Persona) -> PromptBuilder:
        """Return the prompt builder of `persona`; PromptError if the templates are broken."""
        with self._lock:
            # Keyed by the whole persona, so an edited persona with the same id is rebuilt.
            key = persona.model_dump_json()
            if key not in self._builders:
                self._builders[key] = PromptBuilder(persona, self.prompts_dir)
            return self._builders[key]

    def start(self, persona: Persona, user: str | None = None, sandbox: bool = False) -> Session:
        """Create a session, save the opening line, and warm the persona prompt."""
        self.builder(persona)  # a broken prompt template fails before a session is created
        session_id = self.store.create_session(persona.id, user=user, model=self.model.name,
                                               sandbox=sandbox)
        # The opening line is the persona's own text, not the model's: model stays None.
        opening = Turn(role="customer", content=persona.opening.strip(),
                       rung_after=persona.start_rung)
        self.store.add_turn(session_id, opening)
        transcript = Transcript(session_id=session_id, persona_id=persona.id, turns=[opening])
        session = Session(persona=persona, transcript=transcript, sandbox=sandbox, user=user)
        self._warm(session)
        return session

    def resume(self, session_id: str, personas: dict[str, Persona]) -> Session:
        """Return the stored session with every committed turn."""
        info = self.store.info(session_id)
        persona = personas.get(info.persona_id)
        if persona is None:
            raise StoreError(f"session {session_id} is a call with persona {info.persona_id!r}, "
                             "which is not loaded; restore its file in the personas directory")
        transcript = self.store.load(session_id)
        session = Session(persona=persona, transcript=transcript, sandbox=info.sandbox,
                          user=info.user)
        self._warm(session)
        return session

    def _warm(self, session: Session) -> None:
        # In the background: the trainee reads the opening line meanwhile, and start() stays
        # fast. The first reply waits for it (see _wait_warm) rather than racing it.
        prompt = self.builder(session.persona).warm_prompt(
            session.transcript, self.context_tokens, self.max_tokens)

        def run() -> None:
            # Only a speed-up: with every slot busy it would delay a trainee waiting in line.
            ticket = self.slots.join()
            try:
                if not ticket.holding:
                    return
                with self.gate.busy():
                    self.model.warm(prompt)
            except RoleplayError as err:
                # Only a speed-up: the first reply will process the prompt itself, and
                # report the backend's problem if it persists.
                log.warning("warming the prompt of session %s failed: %s",
                            session.session_id, err)
            finally:
                ticket.leave()
                # Sessions that never get a line (a closed browser tab) must not pile up.
                with self._lock:
                    if self._warming.get(session.session_id) is threading.current_thread():
                        del self._warming[session.session_id]

        thread = threading.Thread(target=run, name=f"warm-{session.session_id}", daemon=True)
        with self._lock:
            self._warming[session.session_id] = thread
        thread.start()

    def _wait_warm(self, session: Session) -> None:
        with self._lock:
            thread = self._warming.pop(session.session_id, None)
        if thread is not None:
            # Two requests processing the same long prompt at once would halve the speed of
            # both on a 2-core machine; waiting for the warm-up is faster.
            thread.join(timeout=self.model.settings.timeout)

    # --- turns -----------------------------------------------------------------------

    def stream(self, session: Session, text: str) -> Iterator[ReplyEvent]:
        """Save and appraise the trainee turn, then stream the customer's checked reply."""
        with self.gate.busy():
            yield from self._stream(session, text)

    def _stream(self, session: Session, text: str) -> Iterator[ReplyEvent]:
        text = text.strip()
        if not text:
            raise RoleplayError("the trainee line is empty; type what you would say")
        persona = session.persona
        current = session.transcript.rung or persona.start_rung
        # One appraisal of the line: its moves move the ladder and are stored with the turn.
        appraisal = self.appraiser.appraise(text, language=persona.language,
                                            customer_name=persona.customer.name)
        change = persona.mood_change(current, appraisal.signals(), session.transcript.heard())
        turn = Turn(role="trainee", content=text, rung_before=change.before,
                    rung_after=change.after, reason=change.reason, moves=appraisal.moves)
        # Committed before the model is called: a crash or a failed reply loses nothing said.
        self.store.add_turn(session.session_id, turn)
        session.transcript.turns.append(turn)
        yield MoodUpdate(change=change, turn=turn)
        yield from self._answer(session)

    def retry(self, session: Session) -> Iterator[ReplyEvent]:
        """Generate the customer's reply to the saved trainee turn that has none yet."""
        if not session.transcript.awaiting_reply:
            raise RoleplayError("the last turn already has the customer's reply; "
                                "there is nothing to retry")
        with self.gate.busy():
            yield from self._answer(session)

    def reply(self, session: Session, text: str) -> Turn:
        """Like stream(), returning only the saved customer turn."""
        for event in self.stream(session, text):
            if isinstance(event, Reply):
                return event.turn
        raise AssertionError("stream() ended without a Reply")  # _answer raises instead

    def _answer(self, session: Session) -> Iterator[ReplyEvent]:
        builder = self.builder(session.persona)
        rung = session.transcript.rung or session.persona.start_rung
        prompt = builder.build(session.transcript, rung, self.context_tokens, self.max_tokens)
        if prompt.dropped_lines:
            session.notes.append(f"left out the {prompt.dropped_lines} oldest lines to fit "
                                 f"the {self.context_tokens}-token context")
        check = builder.checker(rung, session.transcript)
        label = speaker_label(session.persona)
        self._wait_warm(session)
        ticket = yield from take_slot(self.slots)
        try:
            grammar = reply_grammar(prompt.avoid_starts, FOREIGN_SCRIPTS)
            yield from self._attempts(session, prompt.text, label, check, rung, grammar,
                                      prompt.opener)
        finally:
            ticket.leave()  # also when the page stops listening mid-reply

    def _attempts(self, session: Session, prompt_text: str, label: str,
                  check: CharacterCheck, rung: Rung, grammar: str | None, opener: str = ""
                  ) -> Iterator[ReplyEvent]:
        last: Verdict | None = None
        avoid: list[str] = []
        broken_texts: list[str] = []
        soft = ""
        for attempt, temperature in enumerate(TEMPERATURES[:REGENERATIONS + 1]):
            reply = ReplyText(label, opener)  # the prompt ends with the opener
            try:
                content = yield from self._attempt(prompt_text, label, check, reply,
                                                   temperature, avoid, grammar)
            except _Broken as broken:
                last = broken.verdict
                broken_texts.append(reply.text())
                if last.kind in SOFT_KINDS:
                    # A whole reply that passed every other check. Missing the rung or a fact
                    # is worth one more wait, not two: the second such miss is kept.
                    again, soft = bool(soft), reply.text()
                    if again:
                        break
                if last.copied:
                    # The small model copies a line from its first word on: a copy that
                    # cannot start the same way rarely turns into the same line again.
                    avoid.append(" " + last.copied.split(maxsplit=1)[0])
                session.notes.append(f"attempt {attempt + 1} broke character: {last}: "
                                     f"{reply.raw.strip()[:200]!r}")
                if attempt < REGENERATIONS:
                    yield Restart(reason=str(last))
                continue
            yield self._save(session, content, rung)
            return
        if soft:
            # Words that lag the rung or a number that is off still make a customer's line,
            # which beats no reply at all.
            session.notes.append(f"kept an attempt that missed only the rung or a fact: {soft!r}")
            yield Restart(reason=f"{last}; keeping an attempt that missed only the rung or a fact")
            yield Token(soft)
            yield self._save(session, soft, rung)
            return
        kept = max((salvage(text, check) for text in broken_texts), key=len, default="")
        if not kept:
            raise BackendError(f"the model could not stay in character ({last}); retry")
        session.notes.append(f"kept the in-character sentences of a broken attempt: {kept!r}")
        yield Restart(reason=f"{last}; keeping only the sentences before the break")
        yield Token(kept)
        yield self._save(session, kept, rung)

    def _attempt(self, prompt: str, label: str, check: CharacterCheck, reply: ReplyText,
                 temperature: float, avoid: list[str], grammar: str | None
                 ) -> Generator[Token, None, str]:
        """Stream one attempt as Tokens; return the checked reply, or raise _Broken."""
        stop = stop_sequences(label)
        shown = 0
        with self.model.grammar(grammar):
            pieces = self.model.stream(prompt, stop=stop, max_tokens=self.max_tokens,
                                       temperature=temperature, avoid=avoid)
        for piece in pieces:
            reply.add(piece)
            verdict = check.check(reply.checkable())
            if verdict is not None:
                raise _Broken(verdict)
            visible = reply.text()
            if len(visible) > shown:
                yield Token(visible[shown:])
                shown = len(visible)
            if reply.done:
                break  # closing the stream stops the generation on the server
        reply.done = True
        content = reply.text()
        verdict = check.check(content, final=True)
        if verdict is not None:
            raise _Broken(verdict)
        if len(content) > shown:
            yield Token(content[shown:])
        return content

    def _save(self, session: Session, content: str, rung: Rung) -> Reply:
        turn = Turn(role="customer", content=content, rung_after=rung, model=self.model.name)
        self.store.add_turn(session.session_id, turn)
        session.transcript.turns.append(turn)
        if self.on_reply is not None:
            self.on_reply(session.session_id)
        return Reply(turn=turn)


def salvage(text: str, check: CharacterCheck) -> str:
    """Return the longest run of whole sentences at the start of `text` that passes `check`.

    What the model said before it broke character is still the model's own line; a
    sentence cut off by the break is not kept, and neither is a lone word or two.
    """
    sentences = whole_sentences(text)
    kept = ""
    for i in range(1, len(sentences) + 1):
        candidate = "".join(sentences[:i]).strip()
        if check.check(candidate, final=True) is not None:
            break
        kept = candidate
    return kept if len(kept.split()) >= SALVAGE_WORDS else ""
