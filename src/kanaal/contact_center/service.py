"""Contact-center use cases: the one module other features and the desk import."""

from __future__ import annotations

from kanaal.contact_center.agents import (
    authenticate_agent,
    create_agent,
    get_agent,
    get_agent_by_email_in,
    get_agent_in,
    list_agents,
    move_agent_in,
    set_agent_state,
)
from kanaal.contact_center.callbacks import (
    accept_next_callback,
    callback_message,
    callback_not_reached,
    create_callback,
    create_callback_in,
    get_callback,
    list_callbacks,
)
from kanaal.contact_center.capacity import (
    LIVE_CHANNEL,
    after_change,
    capacity_snapshot,
    create_queue,
    get_queue_in,
    list_queues,
    refresh_capacity,
    snapshot_computed_at,
)
from kanaal.contact_center.domain import (
    Agent,
    Callback,
    Interaction,
    QueueCapacity,
    check_e164,
)
from kanaal.contact_center.interactions import (
    answered_wait,
    calls_to_numbers,
    create_task,
    create_task_in,
    get_interaction,
    list_tasks,
    log_interaction_outcome,
    record_interaction,
)
from kanaal.contact_center.timeline import normalise_phone

__all__ = [
    "LIVE_CHANNEL",
    "Agent",
    "Callback",
    "Interaction",
    "QueueCapacity",
    "accept_next_callback",
    "after_change",
    "answered_wait",
    "authenticate_agent",
    "callback_message",
    "callback_not_reached",
    "calls_to_numbers",
    "capacity_snapshot",
    "check_e164",
    "create_agent",
    "create_callback",
    "create_callback_in",
    "create_queue",
    "create_task",
    "create_task_in",
    "get_agent",
    "get_agent_by_email_in",
    "get_agent_in",
    "get_callback",
    "get_interaction",
    "get_queue_in",
    "list_agents",
    "list_callbacks",
    "list_queues",
    "list_tasks",
    "log_interaction_outcome",
    "move_agent_in",
    "normalise_phone",
    "record_interaction",
    "refresh_capacity",
    "set_agent_state",
    "snapshot_computed_at",
]
