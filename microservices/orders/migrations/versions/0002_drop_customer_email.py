"""Orders no longer keep a copy of the customer's e-mail address.

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-05

mainapp owns users and their addresses (the confirmation e-mail finds it by ``user_id``), and
access tokens no longer carry it; the column was only ever written. Down: the column comes back
empty.
"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa

revision: str = '0002'
down_revision: Union[str, Sequence[str], None] = '0001'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    op.drop_column('orders', 'customer_email')


def downgrade() -> None:
    op.add_column('orders', sa.Column('customer_email', sa.String(length=254), nullable=True))
