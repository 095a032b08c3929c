"""The "still answering" rule across processes, and the cookie key in the database.

`answering`: one row per session whose customer reply is being made, so a second request
for that session is refused by whichever app process it reaches. `app_keys`: the cookie
signing key, shared by every app process (it was a file beside the SQLite database, which
the store adopts on first use so cookies stay valid).

Revision ID: 0002
Revises: 0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "answering",
        sa.Column("session_id", sa.Text, sa.ForeignKey("sessions.session_id"),
                  primary_key=True),
        sa.Column("holder", sa.Text, nullable=False),
        sa.Column("until", sa.Float, nullable=False),
    )
    op.create_table(
        "app_keys",
        sa.Column("name", sa.Text, primary_key=True),
        sa.Column("value", sa.LargeBinary, nullable=False),
    )


def downgrade() -> None:
    op.drop_table("app_keys")
    op.drop_table("answering")
