"""Human-readable reasons for a decision, for the visitor log, the dashboard and analysts."""

from __future__ import annotations

from kanaal.decisions.domain import ActionType, DecisionContext, Estimate, QueueView


def money(value: float, currency: str) -> str:
    """An expected amount for people: two decimals and the currency."""
    return f"{value:.2f} {currency}"


def queue_reason(view: QueueView, price: float) -> str:
    """How the queue's live capacity priced an agent minute."""
    if price == float("inf"):
        if view.over_target:
            return f"queue {view.queue} is over its service-level target: no invitations"
        if view.predicted_wait_seconds is None:
            return f"queue {view.queue} is unstable: no invitations"
        if view.spare_agent_minutes_15 <= 0 and (
                view.predicted_wait_seconds < view.target_answer_seconds):
            return (f"queue {view.queue} has no spare agent minutes in the next 15 minutes "
                    f"(predicted wait {view.predicted_wait_seconds:.0f}s of the "
                    f"{view.target_answer_seconds:.0f}s target): no invitations")
        return (f"queue {view.queue} predicted wait {view.predicted_wait_seconds:.0f}s reaches "
                f"the {view.target_answer_seconds:.0f}s target: no invitations")
    if price == 0.0:
        return f"queue {view.queue} has idle agents: an agent minute costs no capacity"
    return (f"queue {view.queue} predicted wait {view.predicted_wait_seconds or 0:.0f}s of "
            f"{view.target_answer_seconds:.0f}s target: capacity price {price:.2f}/min")


def chosen_reason(e: Estimate, ctx: DecisionContext) -> str:
    """Why the chosen action pays."""
    return (f"{e.action.value} adds {money(e.incremental_margin, ctx.currency)} expected margin: "
            f"P(buy) {e.p_buy_nothing:.1%} -> {e.p_buy_action:.1%} on a margin of "
            f"{money(ctx.margin, ctx.currency)}, contact cost "
            f"{money(e.contact_cost, ctx.currency)}")


def nothing_reason(best: Estimate | None, ctx: DecisionContext) -> str:
    """Why nothing was proposed."""
    if best is None:
        return "no action was available"
    if not best.feasible:
        return f"best action {best.action.value} has no capacity"
    return (f"no action pays: the best, {best.action.value}, would add "
            f"{money(best.incremental_margin, ctx.currency)} (upsell "
            f"{money(best.upsell, ctx.currency)} vs contact cost "
            f"{money(best.contact_cost, ctx.currency)}); the prospect "
            f"buys with P {best.p_buy_nothing:.1%} anyway")


def stage_reason(stage: str, bucket: str) -> str:
    """The journey stage and context bucket the models used."""
    return f"journey stage {stage} (model bucket {bucket})"


def follow_up_reason(ctx: DecisionContext) -> str | None:
    """Mention a recent call or chat without a purchase."""
    if ctx.follow_up is None:
        return None
    return (f"recent {ctx.follow_up.interaction} on {ctx.follow_up.at:%Y-%m-%d %H:%M} "
            "without an order: follow-up candidates")


def action_message(action: ActionType, ctx: DecisionContext, wait: float | None) -> str:
    """The text a touchpoint may show for the action."""
    agent = ctx.follow_up.agent_name if ctx.follow_up and ctx.follow_up.agent_name else None
    if action is ActionType.SHOW_PHONE:
        return "Questions? Call us now" + (f", wait about {wait:.0f} seconds" if wait else "")
    if action is ActionType.CALL_NOW:
        return "An advisor can call you right now"
    if action is ActionType.CALLBACK_OFFER:
        return f"{agent} can call you back" if agent else "Shall we call you back?"
    if action is ActionType.CHAT_INVITE:
        return "Chat with an advisor"
    if action is ActionType.OFFER:
        if ctx.follow_up is not None and ctx.follow_up.quote is not None:
            return f"Your personal offer from {agent or 'our advisor'}: " + money(
                ctx.follow_up.quote, ctx.currency)
        return "A personal offer for you"
    if action is ActionType.STORE_APPOINTMENT:
        return "Book an appointment in a store near you"
    if action is ActionType.HOT_PROSPECT_ALERT:
        return "A colleague is on the way to help you"
    return ""
