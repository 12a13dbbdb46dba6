"""campaign appointments move to the shared calendars; campaigns keep only the calendar's resource

Revision ID: publishers_0002
"""
import sqlalchemy as sa
from alembic import op

import kanaal.core.db

Stamp = kanaal.core.db.UtcDateTime
campaigns = sa.table('publisher_campaigns', sa.column('id', sa.String), sa.column('name', sa.String),
                     sa.column('calendar', sa.JSON), sa.column('created_at', Stamp))
calendars = sa.table('calendars', *(sa.column(c, sa.String) for c in (
    'resource_kind', 'resource_id', 'timezone')), sa.column('slot_minutes', sa.Integer),
    sa.column('hours', sa.JSON), sa.column('closed_dates', sa.JSON),
    sa.column('created_at', Stamp), sa.column('updated_at', Stamp))
old = sa.table('appointments', *(sa.column(c, sa.String) for c in (
    'id', 'campaign_id', 'resource_kind', 'resource_id', 'customer_id', 'name', 'email', 'phone',
    'status')), sa.column('slot_start', Stamp), sa.column('slot_end', Stamp),
    sa.column('created_at', Stamp))
shared = sa.table('calendar_appointments', *(sa.column(c, sa.String) for c in (
    'id', 'resource_kind', 'resource_id', 'customer_id', 'name', 'email', 'phone', 'status',
    'title', 'source', 'source_ref')), *(sa.column(c, Stamp) for c in (
    'slot_start', 'slot_end', 'held_start', 'created_at', 'updated_at')))
links = sa.table('publisher_appointments', sa.column('appointment_id', sa.String),
                 sa.column('campaign_id', sa.String), sa.column('customer_id', sa.String),
                 sa.column('created_at', Stamp))


def _move_to_calendars() -> None:
    """Campaign hours become the resource's shared calendar (UTC) unless it has one; the
    campaign keeps only the reference; its appointments move to the shared table."""
    bind = op.get_bind()
    names = {}
    for row in bind.execute(sa.select(campaigns)).all():
        names[row.id] = row.name
        cal = row.calendar
        if not cal:
            continue
        kind, resource_id = cal['resource_kind'], cal['resource_id']
        exists = bind.execute(sa.select(calendars.c.resource_id).where(
            calendars.c.resource_kind == kind, calendars.c.resource_id == resource_id)).first()
        if exists is None and 'opens' in cal:
            bind.execute(calendars.insert().values(
                resource_kind=kind, resource_id=resource_id, timezone='UTC',
                slot_minutes=int(cal['slot_minutes']), closed_dates=[],
                hours=[{'weekday': d, 'opens': cal['opens'], 'closes': cal['closes']}
                       for d in sorted(set(cal['weekdays']))],
                created_at=row.created_at, updated_at=row.created_at))
        bind.execute(campaigns.update().where(campaigns.c.id == row.id).values(
            calendar={'resource_kind': kind, 'resource_id': resource_id}))
    for a in bind.execute(sa.select(old)).all():
        bind.execute(shared.insert().values(
            id=a.id, resource_kind=a.resource_kind, resource_id=a.resource_id,
            slot_start=a.slot_start, slot_end=a.slot_end,
            held_start=a.slot_start if a.status == 'booked' else None, status=a.status,
            customer_id=a.customer_id, name=a.name, email=a.email, phone=a.phone,
            title=names.get(a.campaign_id, 'Appointment'), source='publisher',
            source_ref=a.campaign_id, created_at=a.created_at, updated_at=a.created_at))
        if a.campaign_id:
            bind.execute(links.insert().values(appointment_id=a.id, campaign_id=a.campaign_id,
                                               customer_id=a.customer_id,
                                               created_at=a.created_at))


def _move_back() -> None:
    """Campaign appointments (and the campaigns' hours) back into the publishers' tables."""
    bind = op.get_bind()
    for row in bind.execute(sa.select(campaigns)).all():
        cal = row.calendar
        if not cal:
            continue
        own = bind.execute(sa.select(calendars).where(
            calendars.c.resource_kind == cal['resource_kind'],
            calendars.c.resource_id == cal['resource_id'])).first()
        if own is None or not own.hours:
            continue
        first = own.hours[0]
        bind.execute(campaigns.update().where(campaigns.c.id == row.id).values(calendar={
            **cal, 'slot_minutes': own.slot_minutes, 'opens': first['opens'],
            'closes': first['closes'], 'weekdays': sorted({p['weekday'] for p in own.hours})}))
    rows = bind.execute(sa.select(shared, links.c.campaign_id).join(
        links, links.c.appointment_id == shared.c.id)).all()
    for a in rows:
        bind.execute(old.insert().values(
            id=a.id, campaign_id=a.campaign_id, resource_kind=a.resource_kind,
            resource_id=a.resource_id, slot_start=a.slot_start, slot_end=a.slot_end,
            customer_id=a.customer_id, name=a.name or '', email=a.email or '', phone=a.phone,
            status=a.status, created_at=a.created_at))
        bind.execute(shared.delete().where(shared.c.id == a.id))

revision = 'publishers_0002'
down_revision = 'publishers_0001'
branch_labels = None
depends_on = 'calendars_0001'


def upgrade() -> None:
    # ### commands auto generated by Alembic - please adjust! ###
    op.create_table('publisher_appointments',
    sa.Column('appointment_id', sa.String(length=40), nullable=False),
    sa.Column('campaign_id', sa.String(length=40), nullable=False),
    sa.Column('customer_id', sa.String(length=40), nullable=False),
    sa.Column('created_at', kanaal.core.db.UtcDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('appointment_id', name=op.f('pk_publisher_appointments'))
    )
    op.create_index(op.f('ix_publisher_appointments_campaign_id'), 'publisher_appointments', ['campaign_id'], unique=False)
    # ### end Alembic commands ###
    _move_to_calendars()
    op.drop_index(op.f('ix_appointments_campaign_id'), table_name='appointments')
    op.drop_table('appointments')


def downgrade() -> None:
    # ### commands auto generated by Alembic - please adjust! ###
    op.create_table('appointments',
    sa.Column('id', sa.VARCHAR(length=40), nullable=False),
    sa.Column('campaign_id', sa.VARCHAR(length=40), nullable=True),
    sa.Column('resource_kind', sa.VARCHAR(length=10), nullable=False),
    sa.Column('resource_id', sa.VARCHAR(length=40), nullable=False),
    sa.Column('slot_start', kanaal.core.db.UtcDateTime(timezone=True), nullable=False),
    sa.Column('slot_end', kanaal.core.db.UtcDateTime(timezone=True), nullable=False),
    sa.Column('customer_id', sa.VARCHAR(length=40), nullable=False),
    sa.Column('name', sa.VARCHAR(length=200), nullable=False),
    sa.Column('email', sa.VARCHAR(length=320), nullable=False),
    sa.Column('phone', sa.VARCHAR(length=40), nullable=True),
    sa.Column('status', sa.VARCHAR(length=20), nullable=False),
    sa.Column('created_at', kanaal.core.db.UtcDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_appointments')),
    sa.UniqueConstraint('resource_kind', 'resource_id', 'slot_start', name=op.f('uq_appointment_slot'))
    )
    op.create_index(op.f('ix_appointments_campaign_id'), 'appointments', ['campaign_id'], unique=False)
    _move_back()
    op.drop_index(op.f('ix_publisher_appointments_campaign_id'), table_name='publisher_appointments')
    op.drop_table('publisher_appointments')
    # ### end Alembic commands ###
