"""equity track: regional equity market registrations, guidance-fund investments, pre-IPO IP
compliance checklists

Revision ID: 0007
Revises: 0002
Create Date: 2026-11-23
"""
import sqlalchemy as sa
from alembic import op

import shared.db

revision = "0007"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('equity_checklists',
    sa.Column('uscc', sa.String(length=18), nullable=False),
    sa.Column('items', sa.JSON(), nullable=False, comment='each item: status, who decided, note, computed finding, clauses'),
    sa.Column('assessments', sa.JSON(), nullable=False, comment="the officer's assessments by item code, as last sent"),
    sa.Column('ready', sa.Boolean(), nullable=False, comment='no item is an issue or unassessed'),
    sa.Column('pack', sa.String(length=40), nullable=False),
    sa.Column('revision', sa.Integer(), nullable=False),
    sa.Column('updated_by', sa.String(length=120), nullable=False),
    sa.Column('created_at', shared.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', shared.db.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('uscc', name=op.f('pk_equity_checklists'))
    )
    op.create_table('equity_investments',
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('uscc', sa.String(length=18), nullable=False),
    sa.Column('fund_name', sa.String(length=200), nullable=False),
    sa.Column('amount_cny', sa.Numeric(precision=18, scale=2), nullable=False),
    sa.Column('instrument', sa.String(length=30), nullable=False, comment='common_equity | preferred_shares | tech_achievement_warrant'),
    sa.Column('invested_on', sa.Date(), nullable=False),
    sa.Column('shareholding_pct', sa.Numeric(precision=7, scale=4), nullable=True),
    sa.Column('preferred_terms', sa.JSON(), nullable=True, comment='registration on the regional equity market (登记存管)'),
    sa.Column('warrant_terms', sa.JSON(), nullable=True, comment='认股权 terms: achievement, holder, share, price, window'),
    sa.Column('basis', sa.JSON(), nullable=False),
    sa.Column('recorded_by', sa.String(length=120), nullable=False),
    sa.Column('created_at', shared.db.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_equity_investments'))
    )
    op.create_index(op.f('ix_equity_investments_uscc'), 'equity_investments', ['uscc'], unique=False)
    op.create_table('equity_listings',
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('uscc', sa.String(length=18), nullable=False),
    sa.Column('market_name', sa.String(length=200), nullable=False, comment='e.g. 山西股权交易中心'),
    sa.Column('board', sa.String(length=100), nullable=False, comment='板块, e.g. 专精特新专板'),
    sa.Column('code', sa.String(length=32), nullable=False, comment='挂牌代码 on that market'),
    sa.Column('listed_on', sa.Date(), nullable=False),
    sa.Column('basis', sa.JSON(), nullable=False, comment='pool rule, figures, clause'),
    sa.Column('recorded_by', sa.String(length=120), nullable=False),
    sa.Column('created_at', shared.db.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_equity_listings')),
    sa.UniqueConstraint('market_name', 'code', name='uq_equity_listings_market_code'),
    sa.UniqueConstraint('uscc', 'market_name', name='uq_equity_listings_uscc_market')
    )
    op.create_index(op.f('ix_equity_listings_uscc'), 'equity_listings', ['uscc'], unique=False)


def downgrade() -> None:
    op.drop_index(op.f('ix_equity_listings_uscc'), table_name='equity_listings')
    op.drop_table('equity_listings')
    op.drop_index(op.f('ix_equity_investments_uscc'), table_name='equity_investments')
    op.drop_table('equity_investments')
    op.drop_table('equity_checklists')
