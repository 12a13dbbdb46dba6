"""Chat rules: limits, hand-over intent, qualification, transcripts and the FAQ bot."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from kanaal.core.errors import InvalidInput, PayloadTooLarge
from kanaal.touchpoints.chat_bot import FaqBot, load_faq, parse_faq
from kanaal.touchpoints.chat_domain import (
    ChatLimits,
    clean_message,
    parse_budget,
    qualification_traits,
    question_text,
    transcript_summary,
    unseen,
    wants_a_person,
)

LIMITS = ChatLimits(max_message_chars=20)


def test_messages_are_trimmed_and_stripped_of_control_characters() -> None:
    assert clean_message("  hello\x00 there\u200b \n", LIMITS) == "hello there"


@pytest.mark.parametrize(("text", "error", "code"), [
    ("", InvalidInput, "empty_message"), ("  \n ", InvalidInput, "empty_message"),
    (None, InvalidInput, "invalid_message"), (["x"], InvalidInput, "invalid_message"),
    ("x" * 21, PayloadTooLarge, "message_too_long")])
def test_bad_messages_are_refused(text: object, error: type[Exception], code: str) -> None:
    with pytest.raises(error) as raised:
        clean_message(text, LIMITS)
    assert getattr(raised.value, "code", None) == code


@given(st.text(max_size=60))
def test_a_cleaned_message_is_never_empty_or_over_the_limit(text: str) -> None:
    try:
        cleaned = clean_message(text, LIMITS)
    except (InvalidInput, PayloadTooLarge):
        return
    assert 0 < len(cleaned) <= LIMITS.max_message_chars
    assert cleaned == cleaned.strip()


@pytest.mark.parametrize(("text", "wanted"), [
    ("I want a person", True), ("Can I talk to a human?", True), ("ik wil een mens", True),
    ("Mag ik een medewerker spreken?", True), ("agent please", True),
    ("How long does delivery take?", False), ("personal data policy", False),
    ("humane shipping", False)])
def test_hand_over_intent(text: str, wanted: bool) -> None:
    assert wants_a_person(text) is wanted


@pytest.mark.parametrize(("text", "amount"), [
    ("about 700 euro", "700"), ("€ 1.200", "1200"), ("1,250.50", "1250.50"),
    ("1 500", "1500"), ("between 300 and 400", "300"), ("no idea", None)])
def test_budgets_are_read_from_the_answer(text: str, amount: str | None) -> None:
    assert parse_budget(text) == amount


@given(st.integers(min_value=0, max_value=10**9))
def test_any_whole_amount_with_thousands_separators_reads_back(value: int) -> None:
    assert parse_budget(f"budget {value:,}".replace(",", ".")) == str(value)


def test_qualification_feeds_named_traits() -> None:
    assert qualification_traits(0, "Barista Pro") == {"interest_product": "Barista Pro"}
    assert qualification_traits(1, "ca. €800") == {"budget": "ca. €800", "budget_amount": "800"}
    assert qualification_traits(2, "next month") == {"purchase_timing": "next month"}
    assert question_text(1, "nl") == "Wat is ongeveer uw budget?"


def test_the_transcript_summary_is_bounded() -> None:
    messages = [("visitor", "x" * 500)] + [("bot", f"line {n}") for n in range(50)]
    summary = transcript_summary(messages, limit=3, line_chars=10)
    assert summary["lines"] == [{"sender": "visitor", "text": "xxxxxxxxx…"},
                                {"sender": "bot", "text": "line 0"},
                                {"sender": "bot", "text": "line 1"}]
    assert (summary["messages"], summary["truncated"]) == (51, True)
    assert summary["by_sender"] == {"visitor": 1, "bot": 50, "agent": 0, "system": 0}


BOT = FaqBot(load_faq(None))


@pytest.mark.parametrize(("question", "faq"), [
    ("How long does delivery take?", "How long does delivery take?"),
    ("when will my order arrive", "How long does delivery take?"),
    ("wat is de levertijd", "How long does delivery take?"),
    ("can I return my tv?", "Can I return a product?"),
    ("is the store open on sunday", "What are the opening hours of the store?"),
    ("hoe kan ik betalen", "How can I pay?"),
    ("mijn machine is kapot", "What warranty do I get?")])
def test_the_bot_finds_the_routine_question(question: str, faq: str) -> None:
    answer = BOT.answer(question)
    assert answer.entry is not None and answer.entry.question == faq


@pytest.mark.parametrize("question", [
    "what is the meaning of life", "Does the grinder fit a 58 mm portafilter?", "", "???"])
def test_the_bot_is_unsure_about_other_questions(question: str) -> None:
    assert BOT.answer(question).entry is None


def test_a_configured_faq_replaces_the_default_and_bad_entries_are_refused() -> None:
    bot = FaqBot(load_faq([{"question": "Do you deliver to Belgium?", "keywords": ["belgie"],
                            "answer": "Yes, in two days."}]))
    found = bot.answer("Leveren jullie in Belgie?")
    assert found.entry is not None and found.entry.answer("nl") == "Yes, in two days."
    assert bot.answer("How can I pay?").entry is None
    with pytest.raises(InvalidInput) as bad:
        parse_faq([{"question": "No answer"}])
    assert bad.value.code == "invalid_faq"


def _message(seq: int) -> dict[str, object]:
    """A message event as published, from the agent."""
    return {"type": "message", "seq": seq, "sender": "agent", "body": f"line {seq}"}


def test_a_change_the_history_already_showed_is_not_sent_again() -> None:
    change = [_message(4), _message(5), {"type": "status", "status": "closed"}]
    assert unseen(change, shown=5) == []
    assert unseen(change, shown=3) == change
    # Only the messages after the history, with the change's status
    assert unseen(change, shown=4) == [_message(5), {"type": "status", "status": "closed"}]


def test_a_change_without_messages_is_always_sent() -> None:
    assert unseen([{"type": "status", "status": "agent"}], shown=9) == [
        {"type": "status", "status": "agent"}]
