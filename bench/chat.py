"""Chat throughput on SQLite: the FAQ bot, and a visitor's message end to end.

    .venv/bin/python -m bench.chat [--questions 2000] [--messages 300]

1. Bot: `FaqBot.answer` over the default FAQ for a mix of routine, Dutch and off-topic
   questions, beside the baseline of rapidfuzz's `process.extractOne` with its default scorer
   over the same phrases (what one would write without the keyword rules).
2. Message: `chat_service.visitor_says` (size and rate checks, lock, store the message, bot
   reply, publish) on a fresh migrated SQLite database, beside the baseline of
   `collect.service.record_event` (one timeline event per transaction) in the same database.

Prints answers/s and messages/s and the ratios against the baselines measured in this run.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

from rapidfuzz import process, utils

from kanaal.collect.service import record_event
from kanaal.config import Settings
from kanaal.core.context import build_context
from kanaal.core.live import open_live_store
from kanaal.migrations.runner import upgrade
from kanaal.touchpoints import chat_service
from kanaal.touchpoints.chat_bot import FaqBot, load_faq

QUESTIONS = ["How long does delivery take?", "when will my order arrive", "wat is de levertijd",
             "can I return my tv?", "hoe kan ik betalen", "is the store open on sunday",
             "what is the meaning of life", "Does the grinder fit a 58 mm portafilter?"]


def bench_bot(count: int) -> tuple[float, float]:
    """Answers per second: the bot and the plain extractOne baseline."""
    bot = FaqBot(load_faq(None))
    choices = [utils.default_process(c) for c in bot._choices]
    started = time.perf_counter()
    for n in range(count):
        bot.answer(QUESTIONS[n % len(QUESTIONS)])
    ours = count / (time.perf_counter() - started)
    started = time.perf_counter()
    for n in range(count):
        process.extractOne(utils.default_process(QUESTIONS[n % len(QUESTIONS)]), choices)
    return ours, count / (time.perf_counter() - started)


def bench_messages(count: int) -> tuple[float, float]:
    """Messages per second through visitor_says, and record_event per transaction."""
    with tempfile.TemporaryDirectory() as directory:
        settings = Settings(database_url=f"sqlite:///{Path(directory) / 'k.db'}",
                            data_dir=Path(directory), auto_migrate=False)
        ctx = build_context(settings, live=open_live_store(None))
        upgrade(ctx.db)
        ctx.business["chat"] = {"messages_per_second": 1e9, "burst": 1e9, "max_messages": 10**9}
        opened = chat_service.open_conversation(ctx, anonymous_id="bench", user_id=None,
                                                lang="en", resume=None)
        conversation_id = opened["conversation"]["id"]
        started = time.perf_counter()
        for n in range(count):
            chat_service.visitor_says(ctx, conversation_id, "bench",
                                      QUESTIONS[n % 6])  # routine ones: the bot answers
        ours = count / (time.perf_counter() - started)
        started = time.perf_counter()
        for n in range(count):
            ctx.db.run(lambda session, n=n: record_event(
                session, ctx, event="Bench", identities={"anonymous_id": "bench"},
                properties={"n": n}, channel="chat", source="bench"))
        baseline = count / (time.perf_counter() - started)
        ctx.db.dispose()
    return ours, baseline


def main() -> None:
    """Run both benchmarks and print the figures."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--questions", type=int, default=2000)
    parser.add_argument("--messages", type=int, default=300)
    args = parser.parse_args()
    bot, extract = bench_bot(args.questions)
    print(f"bot answers/s        {bot:10.0f}   extractOne baseline {extract:10.0f}"
          f"   ratio {bot / extract:.2f}")
    ours, baseline = bench_messages(args.messages)
    print(f"visitor messages/s   {ours:10.0f}   record_event baseline {baseline:8.0f}"
          f"   ratio {ours / baseline:.2f}")


if __name__ == "__main__":
    main()
