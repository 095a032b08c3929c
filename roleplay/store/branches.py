"""Branches of a call: turns that point at their parent turn (issue 13).

A session's turns form a tree. Each turn row keeps `parent` (the idx of the turn it
follows; None for the opening line) and `branch` (the branch it was said in); branch 0 is
the call as first played. Taking a turn again starts a new branch whose first turn's
parent is the turn before it, so nothing is copied, every turn is still one committed
insert (a kill -9 loses nothing), and the original stays as it was. The session row keeps
the branch being played (`sessions.branch`): adding a turn, loading, taking back and
scoring act on it unless told otherwise. A branch's report is kept in its `branches` row
(branch 0's in the session row, as before branches existed).

These functions run inside the store's transactions (`roleplay.store.sql.SqlStore`).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict
from sqlalchemy import Connection, Row, func, insert, select, update

from roleplay.errors import StoreError
from roleplay.store.schema import branches, sessions, turns
from roleplay.transcript import utcnow

Origin = Literal["call", "rewind", "replay"]


class BranchInfo(BaseModel):
    """One branch of a call, as the history and `sessions show --branches` list it."""

    model_config = ConfigDict(extra="forbid")

    branch: int
    """0: the call as first played; then 1, 2, ... in the order they were started."""
    origin: Origin
    """call (branch 0), rewind (the trainee took a turn again) or replay (Try it)."""
    from_turn: int | None
    """The position (0-based, in the call's turns) of the first turn that differs from
    the branch it was started from; None for branch 0."""
    parent_branch: int | None
    """The branch it was started from; None for branch 0."""
    turns: int
    """How many turns the branch's call has, the shared ones included."""
    created_at: datetime | None
    score: float | None = None
    """The branch's overall score, once it has been scored."""
    current: bool = False
    """The branch being played."""


def current(conn: Connection, session_id: str) -> int:
    """The branch being played (the session must exist)."""
    found = conn.execute(select(sessions.c.branch)
                         .where(sessions.c.session_id == session_id)).scalar()
    if found is None:
        raise StoreError(f"no session {session_id!r}; `roleplay sessions list` shows them")
    return int(found)


def _tree(conn: Connection, session_id: str) -> dict[int, Row[Any]]:
    return {row.idx: row for row in conn.execute(
        select(turns).where(turns.c.session_id == session_id).order_by(turns.c.idx))}


def _branch_row(conn: Connection, session_id: str, branch: int) -> Row[Any] | None:
    return conn.execute(select(branches).where(branches.c.session_id == session_id,
                                               branches.c.branch == branch)).first()


def _check(conn: Connection, session_id: str, branch: int) -> Row[Any] | None:
    if branch == 0:
        return None
    row = _branch_row(conn, session_id, branch)
    if row is None:
        raise StoreError(f"session {session_id} has no branch {branch}; `roleplay sessions "
                         f"show {session_id} --branches` lists them")
    return row


def _leaf(tree: dict[int, Row[Any]], branch: int, fork: int | None) -> int | None:
    own = [idx for idx, row in tree.items() if row.branch == branch]
    return max(own) if own else fork


def path_rows(conn: Connection, session_id: str, branch: int | None = None) -> list[Row[Any]]:
    """The turn rows of `branch`'s call (the current branch by default), first to last."""
    branch = current(conn, session_id) if branch is None else branch
    info = _check(conn, session_id, branch)
    tree = _tree(conn, session_id)
    node = _leaf(tree, branch, info.fork if info is not None else None)
    path: list[Row[Any]] = []
    while node is not None:
        row = tree[node]
        path.append(row)
        node = row.parent
    return path[::-1]


def placement(conn: Connection, session_id: str) -> dict[str, Any]:
    """Where the next turn of the current branch goes: its idx, branch and parent."""
    branch = current(conn, session_id)
    path = path_rows(conn, session_id, branch)
    last = conn.execute(select(func.max(turns.c.idx))
                        .where(turns.c.session_id == session_id)).scalar()
    return {"idx": 0 if last is None else last + 1, "branch": branch,
            "parent": path[-1].idx if path else None}


def leaf_row(conn: Connection, session_id: str) -> Row[Any] | None:
    """The current branch's last turn, if no other turn grows from it (take_back may
    remove it then); None otherwise."""
    path = path_rows(conn, session_id)
    if not path:
        return None
    leaf = path[-1]
    children = conn.execute(select(func.count()).where(
        turns.c.session_id == session_id, turns.c.parent == leaf.idx)).scalar_one()
    forks = conn.execute(select(func.count()).where(
        branches.c.session_id == session_id, branches.c.fork == leaf.idx)).scalar_one()
    return leaf if leaf.branch == current(conn, session_id) and not children + forks else None


def start(conn: Connection, session_id: str, at: int, origin: Origin = "rewind") -> int:
    """Start a branch that takes the current branch's turn at position `at` again, make it
    the current branch and return its number. Only a trainee's turn can be taken again."""
    played = current(conn, session_id)
    path = path_rows(conn, session_id, played)
    if not 0 <= at < len(path) or path[at].role != "trainee":
        mine = [str(i) for i, row in enumerate(path) if row.role == "trainee"]
        raise StoreError(f"turn {at} of session {session_id} is not one of the trainee's "
                         f"turns ({', '.join(mine) or 'none yet'}); only those can be taken "
                         "again")
    number = (conn.execute(select(func.max(branches.c.branch))
                           .where(branches.c.session_id == session_id)).scalar() or 0) + 1
    conn.execute(insert(branches).values(
        session_id=session_id, branch=number, parent_branch=played,
        fork=path[at - 1].idx if at > 0 else None, from_turn=at, origin=origin,
        created_at=utcnow()))
    conn.execute(update(sessions).where(sessions.c.session_id == session_id)
                 .values(branch=number))
    return int(number)


def switch(conn: Connection, session_id: str, branch: int, reopen: bool = False) -> None:
    """Make `branch` the one being played; `reopen` an ended call to continue it."""
    current(conn, session_id)
    _check(conn, session_id, branch)
    values: dict[str, Any] = {"branch": branch}
    if reopen:
        values["ended_at"] = None
    conn.execute(update(sessions).where(sessions.c.session_id == session_id).values(**values))


def listing(conn: Connection, session_id: str) -> list[BranchInfo]:
    """Every branch of the session, branch 0 first."""
    played = current(conn, session_id)
    session = conn.execute(select(sessions.c.started_at, sessions.c.score)
                           .where(sessions.c.session_id == session_id)).one()
    found = [BranchInfo(branch=0, origin="call", from_turn=None, parent_branch=None,
                        turns=len(path_rows(conn, session_id, 0)),
                        created_at=session.started_at, score=session.score,
                        current=played == 0)]
    for row in conn.execute(select(branches).where(branches.c.session_id == session_id)
                            .order_by(branches.c.branch)):
        found.append(BranchInfo(branch=row.branch, origin=row.origin, from_turn=row.from_turn,
                                parent_branch=row.parent_branch,
                                turns=len(path_rows(conn, session_id, row.branch)),
                                created_at=row.created_at, score=row.score,
                                current=played == row.branch))
    return found


def save_report(conn: Connection, session_id: str, branch: int | None, report: str,
                score: float | None) -> None:
    """Keep a report (its JSON) and score for `branch` (the current one by default)."""
    branch = current(conn, session_id) if branch is None else branch
    if branch == 0:
        conn.execute(update(sessions).where(sessions.c.session_id == session_id)
                     .values(report=report, score=score))
        return
    _check(conn, session_id, branch)
    conn.execute(update(branches).where(branches.c.session_id == session_id,
                                        branches.c.branch == branch)
                 .values(report=report, score=score))


def report_json(conn: Connection, session_id: str, branch: int | None) -> str | None:
    """The JSON of `branch`'s report (the current branch by default), or None."""
    branch = current(conn, session_id) if branch is None else branch
    if branch == 0:
        saved: str | None = conn.execute(select(sessions.c.report).where(
            sessions.c.session_id == session_id)).scalar()
        return saved
    row = _check(conn, session_id, branch)
    return row.report if row is not None else None
