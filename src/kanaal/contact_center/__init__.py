"""Contact center: agents, skills, queues, callbacks, interactions and the capacity model."""
