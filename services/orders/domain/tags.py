"""Order tags: free strings, trimmed, compared exactly, without duplicates, at most 100 a list."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from services.platform import errors

MAX_TAG_LENGTH = 100
MAX_TAGS = 100


def clean(tags: Iterable[str], path: str, problems: errors.Violations) -> tuple[str, ...]:
    """Trimmed, de-duplicated tags in first-seen order; empty or long ones are violations."""
    seen: dict[str, None] = {}
    for index, raw in enumerate(tags):
        tag = raw.strip()
        if not tag:
            problems.add(f"{path}[{index}]", "a tag must not be empty")
        elif len(tag) > MAX_TAG_LENGTH:
            problems.add(f"{path}[{index}]", f"a tag has at most {MAX_TAG_LENGTH} characters")
        else:
            seen[tag] = None
    return tuple(seen)


@dataclass(frozen=True)
class TagChange:
    assign: tuple[str, ...]
    unassign: tuple[str, ...]

    def apply(self, current: Sequence[str]) -> tuple[str, ...]:
        kept = [tag for tag in current if tag not in self.unassign]
        result = kept + [tag for tag in self.assign if tag not in kept]
        if len(result) > MAX_TAGS:
            raise errors.FailedPrecondition(
                "TAG_LIMIT_EXCEEDED",
                f"an order holds at most {MAX_TAGS} tags in a list",
                metadata={"limit": str(MAX_TAGS)},
            )
        return tuple(result)
