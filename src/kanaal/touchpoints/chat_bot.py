"""The FAQ bot: fuzzy retrieval over configured questions and keywords (rapidfuzz, local)."""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rapidfuzz import fuzz, process, utils

from kanaal.core.errors import InvalidInput

DEFAULT_FAQ = Path(__file__).parent / "faq_default.toml"
DEFAULT_THRESHOLD = 75.0


@dataclass(frozen=True)
class FaqEntry:
    """One routine question with its answers in English and Dutch."""

    question: str
    keywords: tuple[str, ...]
    answer_en: str
    answer_nl: str

    def answer(self, lang: str) -> str:
        """The answer in the visitor's language."""
        return self.answer_nl if lang == "nl" else self.answer_en


@dataclass(frozen=True)
class BotAnswer:
    """The bot's reply, or None when it is unsure (score below the threshold)."""

    entry: FaqEntry | None
    score: float


def parse_faq(raw: list[dict[str, Any]]) -> tuple[FaqEntry, ...]:
    """FAQ entries from TOML tables; refuses entries without a question and both answers."""
    entries = []
    for n, item in enumerate(raw):
        question = str(item.get("question", "")).strip()
        answer_en = str(item.get("answer_en", item.get("answer", ""))).strip()
        answer_nl = str(item.get("answer_nl", answer_en)).strip()
        if not question or not answer_en:
            raise InvalidInput(f"FAQ entry {n} needs a question and an answer", code="invalid_faq")
        keywords = tuple(str(k).strip() for k in item.get("keywords", []) if str(k).strip())
        entries.append(FaqEntry(question, keywords, answer_en, answer_nl))
    return tuple(entries)


def load_faq(configured: list[dict[str, Any]] | None) -> tuple[FaqEntry, ...]:
    """The FAQ from kanaal.toml [[chat.faq]], else the default FAQ shipped with Kanaal."""
    if configured:
        return parse_faq(configured)
    with DEFAULT_FAQ.open("rb") as handle:
        return parse_faq(tomllib.load(handle)["faq"])


class FaqBot:
    """Answers a routine question when one FAQ entry matches well enough."""

    def __init__(self, entries: tuple[FaqEntry, ...], threshold: float = DEFAULT_THRESHOLD):
        self.entries = entries
        self.threshold = threshold
        # Every question and keyword is a choice pointing back at its entry.
        self._choices: list[str] = []
        self._owner: list[int] = []
        for index, entry in enumerate(entries):
            for phrase in (entry.question, *entry.keywords):
                self._choices.append(utils.default_process(phrase))
                self._owner.append(index)

    def _score(self, query: str, choice: str, **_: Any) -> float:
        # Whole-question similarity, or a keyword contained in the question (partial match
        # only for keywords of four letters or more, so "open" does not match "opened").
        whole = fuzz.token_set_ratio(query, choice)
        if len(choice) >= 4 and len(choice) < len(query):
            whole = max(whole, fuzz.partial_ratio(choice, query) if len(choice) > 5 else (
                100.0 if choice in query.split() else 0.0))
        return float(whole)

    def answer(self, text: str) -> BotAnswer:
        """The best entry for `text`, or an unsure answer (entry None)."""
        query = utils.default_process(text)
        if not query or not self._choices:
            return BotAnswer(None, 0.0)
        found = process.extractOne(query, self._choices, scorer=self._score)
        if found is None:
            return BotAnswer(None, 0.0)
        _, score, position = found
        if score < self.threshold:
            return BotAnswer(None, float(score))
        return BotAnswer(self.entries[self._owner[position]], float(score))
