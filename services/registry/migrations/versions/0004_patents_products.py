"""patents, trademarks and patent-intensive products

Revision ID: 0004
Revises: 0001
Create Date: 2026-11-23

A branch of its own beside the other registry domains' migrations (applied with ``upgrade heads``).
"""
import sqlalchemy as sa
from alembic import op

import shared.db

revision = "0004"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('patents',
    sa.Column('application_no', sa.String(length=16), nullable=False, comment='申请号, canonical (202410123456.0)'),
    sa.Column('kind', sa.String(length=20), nullable=False),
    sa.Column('title', sa.String(length=500), nullable=False),
    sa.Column('abstract', sa.Text(), nullable=True),
    sa.Column('ipc_codes', sa.JSON(), nullable=False, comment='IPC symbols, main first'),
    sa.Column('locarno_class', sa.String(length=5), nullable=True, comment='designs: 14-02'),
    sa.Column('filing_date', sa.Date(), nullable=False),
    sa.Column('grant_date', sa.Date(), nullable=True),
    sa.Column('status', sa.String(length=12), nullable=False),
    sa.Column('ended_on', sa.Date(), nullable=True, comment='lapsed/invalidated/expired: the day from which it is not in force'),
    sa.Column('status_reason', sa.Text(), nullable=True),
    sa.Column('annual_fees_paid_through', sa.Integer(), nullable=True, comment='annual fees paid for patent years 1..N'),
    sa.Column('term_extension_days', sa.Integer(), nullable=False, comment='专利权期限补偿 (Art 42)'),
    sa.Column('family_members', sa.JSON(), nullable=False),
    sa.Column('awards', sa.JSON(), nullable=False),
    sa.Column('sei_tagged', sa.Boolean(), nullable=True, comment='战略性新兴产业, set by the IP office (no IPC concordance held)'),
    sa.Column('sei_industry', sa.String(length=100), nullable=True),
    sa.Column('suspension_reason', sa.String(length=40), nullable=True),
    sa.Column('suspended_since', sa.Date(), nullable=True),
    sa.Column('is_high_value', sa.Boolean(), nullable=False),
    sa.Column('high_value_categories', sa.JSON(), nullable=False),
    sa.Column('high_value_basis', sa.JSON(), nullable=False),
    sa.Column('high_value_assessed_on', sa.Date(), nullable=True),
    sa.Column('warnings', sa.JSON(), nullable=False, comment='non-fatal findings (number, dates, owners)'),
    sa.Column('revision', sa.Integer(), nullable=False),
    sa.Column('registered_by', sa.String(length=120), nullable=False),
    sa.Column('updated_by', sa.String(length=120), nullable=True),
    sa.Column('created_at', shared.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', shared.db.UTCDateTime(timezone=True), nullable=False),
    sa.CheckConstraint("kind IN ('invention', 'utility_model', 'design', 'pct_invention', 'pct_utility_model')", name=op.f('ck_patents_kind')),
    sa.CheckConstraint("status IN ('pending', 'granted', 'lapsed', 'invalidated', 'expired')", name=op.f('ck_patents_status')),
    sa.PrimaryKeyConstraint('application_no', name=op.f('pk_patents'))
    )
    op.create_index(op.f('ix_patents_is_high_value'), 'patents', ['is_high_value'], unique=False)
    op.create_index(op.f('ix_patents_kind'), 'patents', ['kind'], unique=False)
    op.create_index(op.f('ix_patents_status'), 'patents', ['status'], unique=False)
    op.create_table('trademarks',
    sa.Column('reg_no', sa.String(length=12), nullable=False, comment='注册号'),
    sa.Column('name', sa.String(length=200), nullable=False, comment='商标名称'),
    sa.Column('nice_class', sa.Integer(), nullable=False, comment='尼斯分类 1-45'),
    sa.Column('holder_uscc', sa.String(length=18), nullable=True),
    sa.Column('holder_name', sa.String(length=200), nullable=False),
    sa.Column('mark_kind', sa.String(length=14), nullable=True, comment='ordinary / collective / certification'),
    sa.Column('geographical_indication', sa.Boolean(), nullable=False),
    sa.Column('gi_product', sa.String(length=200), nullable=True, comment='e.g. 大同黄花'),
    sa.Column('registered_on', sa.Date(), nullable=True),
    sa.Column('expires_on', sa.Date(), nullable=True),
    sa.Column('revision', sa.Integer(), nullable=False),
    sa.Column('registered_by', sa.String(length=120), nullable=False),
    sa.Column('created_at', shared.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', shared.db.UTCDateTime(timezone=True), nullable=False),
    sa.CheckConstraint('nice_class BETWEEN 1 AND 45', name=op.f('ck_trademarks_nice_class')),
    sa.PrimaryKeyConstraint('reg_no', name=op.f('pk_trademarks'))
    )
    op.create_index(op.f('ix_trademarks_geographical_indication'), 'trademarks', ['geographical_indication'], unique=False)
    op.create_index(op.f('ix_trademarks_holder_uscc'), 'trademarks', ['holder_uscc'], unique=False)
    op.create_table('patent_encumbrances',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('application_no', sa.String(length=16), nullable=False),
    sa.Column('kind', sa.String(length=10), nullable=False),
    sa.Column('reference', sa.String(length=64), nullable=False),
    sa.Column('starts_on', sa.Date(), nullable=False),
    sa.Column('ends_on', sa.Date(), nullable=True, comment='released / ended; null: open'),
    sa.Column('pledgee_name', sa.String(length=200), nullable=True),
    sa.Column('pledgee_code', sa.String(length=64), nullable=True, comment='bank code'),
    sa.Column('loan_id', sa.String(length=64), nullable=True),
    sa.Column('amount_10k_cny', sa.Numeric(precision=16, scale=2), nullable=True),
    sa.Column('pledgee_consent_to_open_licence', sa.Boolean(), nullable=True),
    sa.Column('licence_type', sa.String(length=10), nullable=True),
    sa.Column('licensee_name', sa.String(length=200), nullable=True),
    sa.Column('licensee_uscc', sa.String(length=18), nullable=True),
    sa.Column('source', sa.String(length=200), nullable=False, comment='event id or caller'),
    sa.Column('recorded_at', shared.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', shared.db.UTCDateTime(timezone=True), nullable=False),
    sa.CheckConstraint("kind IN ('pledge', 'licence')", name=op.f('ck_patent_encumbrances_kind')),
    sa.ForeignKeyConstraint(['application_no'], ['patents.application_no'], name=op.f('fk_patent_encumbrances_application_no_patents'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_patent_encumbrances')),
    sa.UniqueConstraint('application_no', 'kind', 'reference', name='uq_patent_encumbrances_application_no_kind_reference')
    )
    op.create_index(op.f('ix_patent_encumbrances_application_no'), 'patent_encumbrances', ['application_no'], unique=False)
    op.create_table('patent_owners',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('application_no', sa.String(length=16), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('uscc', sa.String(length=18), nullable=True),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('share', sa.Numeric(precision=5, scale=2), nullable=False, comment='percent, shares sum to 100'),
    sa.Column('country', sa.String(length=2), nullable=False, comment='ISO 3166 alpha-2; CN domestic'),
    sa.Column('region_code', sa.String(length=6), nullable=True, comment="GB/T 2260: the registered enterprise's region, else USCC positions 3-8"),
    sa.ForeignKeyConstraint(['application_no'], ['patents.application_no'], name=op.f('fk_patent_owners_application_no_patents'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_patent_owners')),
    sa.UniqueConstraint('application_no', 'position', name='uq_patent_owners_application_no_position')
    )
    op.create_index(op.f('ix_patent_owners_application_no'), 'patent_owners', ['application_no'], unique=False)
    op.create_index(op.f('ix_patent_owners_region_code'), 'patent_owners', ['region_code'], unique=False)
    op.create_index(op.f('ix_patent_owners_uscc'), 'patent_owners', ['uscc'], unique=False)
    op.create_table('products',
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('uscc', sa.String(length=18), nullable=False, comment='the filing enterprise'),
    sa.Column('name', sa.String(length=200), nullable=False, comment='产品名称'),
    sa.Column('description', sa.Text(), nullable=True),
    sa.Column('figures_year', sa.Integer(), nullable=False, comment='the year of sales and profit'),
    sa.Column('annual_sales_10k_cny', sa.Numeric(precision=16, scale=2), nullable=False, comment='万元'),
    sa.Column('annual_profit_10k_cny', sa.Numeric(precision=16, scale=2), nullable=False, comment='万元'),
    sa.Column('status', sa.String(length=12), nullable=False),
    sa.Column('decision_reason', sa.Text(), nullable=True),
    sa.Column('decided_by', sa.String(length=120), nullable=True),
    sa.Column('decided_at', shared.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('recognized_on', sa.Date(), nullable=True),
    sa.Column('revision', sa.Integer(), nullable=False),
    sa.Column('filed_by', sa.String(length=120), nullable=False),
    sa.Column('created_at', shared.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', shared.db.UTCDateTime(timezone=True), nullable=False),
    sa.CheckConstraint("status IN ('filed', 'recognized', 'rejected')", name=op.f('ck_products_status')),
    sa.ForeignKeyConstraint(['uscc'], ['enterprises.uscc'], name=op.f('fk_products_uscc_enterprises')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_products'))
    )
    op.create_index(op.f('ix_products_status'), 'products', ['status'], unique=False)
    op.create_index(op.f('ix_products_uscc'), 'products', ['uscc'], unique=False)
    op.create_table('product_patents',
    sa.Column('product_id', sa.String(length=36), nullable=False),
    sa.Column('application_no', sa.String(length=16), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['application_no'], ['patents.application_no'], name=op.f('fk_product_patents_application_no_patents')),
    sa.ForeignKeyConstraint(['product_id'], ['products.id'], name=op.f('fk_product_patents_product_id_products'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('product_id', 'application_no', name=op.f('pk_product_patents'))
    )
    op.create_index(op.f('ix_product_patents_application_no'), 'product_patents', ['application_no'], unique=False)


def downgrade() -> None:
    op.drop_index(op.f('ix_product_patents_application_no'), table_name='product_patents')
    op.drop_table('product_patents')
    op.drop_index(op.f('ix_products_uscc'), table_name='products')
    op.drop_index(op.f('ix_products_status'), table_name='products')
    op.drop_table('products')
    op.drop_index(op.f('ix_patent_owners_uscc'), table_name='patent_owners')
    op.drop_index(op.f('ix_patent_owners_region_code'), table_name='patent_owners')
    op.drop_index(op.f('ix_patent_owners_application_no'), table_name='patent_owners')
    op.drop_table('patent_owners')
    op.drop_index(op.f('ix_patent_encumbrances_application_no'), table_name='patent_encumbrances')
    op.drop_table('patent_encumbrances')
    op.drop_index(op.f('ix_trademarks_holder_uscc'), table_name='trademarks')
    op.drop_index(op.f('ix_trademarks_geographical_indication'), table_name='trademarks')
    op.drop_table('trademarks')
    op.drop_index(op.f('ix_patents_status'), table_name='patents')
    op.drop_index(op.f('ix_patents_kind'), table_name='patents')
    op.drop_index(op.f('ix_patents_is_high_value'), table_name='patents')
    op.drop_table('patents')
