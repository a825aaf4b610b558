"""Faster first audio: the first sentence is cut at its first clause pause (a comma) into a lead phrase and
the rest, so a stream's first chunk holds a few words instead of a whole sentence. A comma is a pause the
listener expects, so the cut does not change how the sentence sounds much; sentences without one stay whole."""

from dataclasses import replace

from .types import Segment, Sentence

CLAUSE_MARKS = ",，、;；:："
MIN_LEAD_WORDS = 3
MIN_REST_CHARS = 8


def split_lead(sentences: list[Sentence]) -> list[Sentence]:
    """The same sentences, the first one split after its first clause mark when both parts are long enough."""
    if not sentences:
        return sentences
    first = sentences[0]
    for position, segment in enumerate(first.segments):
        if segment.phonemes:
            return sentences
        cut = _cut_point(segment, _words_before(first.segments[:position]))
        if cut is not None:
            lead, rest = _split_segment(segment, cut)
            head = Sentence([*first.segments[:position], lead], first.source_start, lead.source_end)
            tail = Sentence([rest, *first.segments[position + 1:]], rest.source_start, first.source_end)
            if len(tail.text.strip()) < MIN_REST_CHARS:
                return sentences
            return [head, tail, *sentences[1:]]
    return sentences


def _words_before(segments: list[Segment]) -> int:
    return sum(len(segment.word_spans) for segment in segments)


def _cut_point(segment: Segment, words_before: int) -> int | None:
    """Index just after the first clause mark that follows at least MIN_LEAD_WORDS words."""
    for index, char in enumerate(segment.text):
        if char in CLAUSE_MARKS:
            words = words_before + sum(1 for span in segment.word_spans if span[1] <= index)
            if words >= MIN_LEAD_WORDS and segment.text[index + 1:].strip():
                return index + 1
    return None


def _split_segment(segment: Segment, cut: int) -> tuple[Segment, Segment]:
    lead_spans = [span for span in segment.word_spans if span[0] < cut]
    rest_spans = [(start - cut, end - cut, source_start, source_end)
                  for start, end, source_start, source_end in segment.word_spans if start >= cut]
    middle = rest_spans[0][2] if rest_spans else segment.source_end
    lead = replace(segment, text=segment.text[:cut], source_end=middle, word_spans=lead_spans)
    rest = replace(segment, text=segment.text[cut:], source_start=middle, word_spans=rest_spans, pause_before=0.0)
    return lead, rest
