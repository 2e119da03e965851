"""the paper's video and task tables, users and render servers

Revision ID: 0001
Revises: 
Create Date: 2026-11-22
"""

from alembic import op
import sqlalchemy as sa


revision = '0001'
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('server',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('server_id', sa.String(length=32), nullable=False),
    sa.Column('name', sa.String(length=120), nullable=False),
    sa.Column('credential_hash', sa.String(length=64), nullable=False),
    sa.Column('last_time', sa.DateTime(), nullable=True),
    sa.Column('created_time', sa.DateTime(), nullable=False),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('credential_hash')
    )
    with op.batch_alter_table('server', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_server_server_id'), ['server_id'], unique=True)

    op.create_table('user',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('openid', sa.String(length=64), nullable=False),
    sa.Column('name', sa.String(length=120), nullable=False),
    sa.Column('token_hash', sa.String(length=64), nullable=False),
    sa.Column('created_time', sa.DateTime(), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('user', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_user_openid'), ['openid'], unique=True)
        batch_op.create_index(batch_op.f('ix_user_token_hash'), ['token_hash'], unique=True)

    op.create_table('task',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('task_id', sa.String(length=32), nullable=False),
    sa.Column('task_type', sa.String(length=32), nullable=False),
    sa.Column('status', sa.Integer(), nullable=False),
    sa.Column('return_msg', sa.Text(), nullable=False),
    sa.Column('vid', sa.String(length=32), nullable=True),
    sa.Column('start_time', sa.DateTime(), nullable=True),
    sa.Column('end_time', sa.DateTime(), nullable=True),
    sa.Column('openid', sa.String(length=64), nullable=False),
    sa.Column('camera_parameter', sa.Text(), nullable=False),
    sa.Column('command', sa.Text(), nullable=False),
    sa.Column('performance_vid', sa.String(length=32), nullable=True),
    sa.Column('created_time', sa.DateTime(), nullable=False),
    sa.Column('progress', sa.Float(), nullable=False),
    sa.Column('server_id', sa.String(length=32), nullable=True),
    sa.Column('lease_until', sa.DateTime(), nullable=True),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['openid'], ['user.openid'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('task', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_task_created_time'), ['created_time'], unique=False)
        batch_op.create_index(batch_op.f('ix_task_openid'), ['openid'], unique=False)
        batch_op.create_index(batch_op.f('ix_task_status'), ['status'], unique=False)
        batch_op.create_index(batch_op.f('ix_task_task_id'), ['task_id'], unique=True)

    op.create_table('video',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('vid', sa.String(length=32), nullable=False),
    sa.Column('video_link', sa.Text(), nullable=False),
    sa.Column('size', sa.Float(), nullable=False),
    sa.Column('duration', sa.Float(), nullable=False),
    sa.Column('thumb', sa.Text(), nullable=False),
    sa.Column('upload_time', sa.DateTime(), nullable=False),
    sa.Column('openid', sa.String(length=64), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('filename', sa.String(length=255), nullable=False),
    sa.ForeignKeyConstraint(['openid'], ['user.openid'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('video', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_video_openid'), ['openid'], unique=False)
        batch_op.create_index(batch_op.f('ix_video_vid'), ['vid'], unique=True)



def downgrade() -> None:
    with op.batch_alter_table('video', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_video_vid'))
        batch_op.drop_index(batch_op.f('ix_video_openid'))

    op.drop_table('video')
    with op.batch_alter_table('task', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_task_task_id'))
        batch_op.drop_index(batch_op.f('ix_task_status'))
        batch_op.drop_index(batch_op.f('ix_task_openid'))
        batch_op.drop_index(batch_op.f('ix_task_created_time'))

    op.drop_table('task')
    with op.batch_alter_table('user', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_user_token_hash'))
        batch_op.drop_index(batch_op.f('ix_user_openid'))

    op.drop_table('user')
    with op.batch_alter_table('server', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_server_server_id'))

    op.drop_table('server')
