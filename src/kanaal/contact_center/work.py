"""Former home of callbacks, interactions and tasks; kept so existing imports keep working.

New code imports from `kanaal.contact_center.service`.
"""

from __future__ import annotations

from kanaal.contact_center.callbacks import (
    accept_next_callback,
    callback_message,
    create_callback,
    create_callback_in,
    get_callback,
    list_callbacks,
    offer_callbacks_to,
)
from kanaal.contact_center.interactions import (
    create_task,
    create_task_in,
    finish_interaction_in,
    get_interaction,
    interaction_properties,
    list_tasks,
    log_interaction_outcome,
    record_interaction,
    resolve_customer_in,
)
from kanaal.contact_center.timeline import normalise_phone

__all__ = [
    "accept_next_callback",
    "callback_message",
    "create_callback",
    "create_callback_in",
    "create_task",
    "create_task_in",
    "finish_interaction_in",
    "get_callback",
    "get_interaction",
    "interaction_properties",
    "list_callbacks",
    "list_tasks",
    "log_interaction_outcome",
    "normalise_phone",
    "offer_callbacks_to",
    "record_interaction",
    "resolve_customer_in",
]
