"""publisher campaigns get a period (starts_at, ends_at) and an attribution window (attribution_days)

Existing campaigns get no start and no end (they run from their creation, as before) and the
default window of 30 days (the server default fills their rows).

Revision ID: publishers_0003
"""
import sqlalchemy as sa
from alembic import op

import kanaal.core.db

revision = 'publishers_0003'
down_revision = 'publishers_0002'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column('publisher_campaigns', sa.Column('starts_at', kanaal.core.db.UtcDateTime(timezone=True), nullable=True))
    op.add_column('publisher_campaigns', sa.Column('ends_at', kanaal.core.db.UtcDateTime(timezone=True), nullable=True))
    op.add_column('publisher_campaigns', sa.Column('attribution_days', sa.Integer(), server_default=sa.text('30'), nullable=False))


def downgrade() -> None:
    op.drop_column('publisher_campaigns', 'attribution_days')
    op.drop_column('publisher_campaigns', 'ends_at')
    op.drop_column('publisher_campaigns', 'starts_at')
