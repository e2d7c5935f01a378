"""ChatService rules that every adapter relies on, on the real pipeline and a real SQLite file."""

from __future__ import annotations

from moodtunes.bot.service import NOT_YOURS, AnswerKind, ChatService
from moodtunes.core import messages
from moodtunes.core.errors import ImageTooLarge


def test_only_the_asker_pages_through_an_answer_but_anyone_may_vote(service, astronaut_jpeg):
    answer = service.handle_photo("telegram", "100", astronaut_jpeg)
    assert service.handle_more("telegram", "200", answer.event_id).text == NOT_YOURS
    assert service.handle_vote("telegram", "200", answer.event_id, answer.tracks[0].id, 1).text.startswith("👍")
    more = service.handle_more("telegram", "100", answer.event_id)
    assert len(more.tracks) == 5 and more.title.startswith("More")


def test_disliked_tracks_never_come_back(service):
    first = service.handle_mood("console", "erin", "sad")
    for track in first.tracks:
        service.handle_vote("console", "erin", first.event_id, track.id, -1)
    disliked = {t.id for t in first.tracks}
    for _ in range(5):
        again = service.handle_mood("console", "erin", "sad")
        assert not disliked & {t.id for t in again.tracks}


def test_a_like_changes_the_next_answer_from_the_first_vote(service, pipeline):
    before = service.handle_mood("console", "fay", "calm")
    calm = pipeline.recommender.catalog.query("mood == 'Calm'").sort_values("energy")
    liked = calm.iloc[-1]["id"]  # the most energetic Calm track, not among the first five: liked elsewhere
    service.store.vote(before.event_id, service.store.user_id("console", "fay"), liked, 1)
    after = service.handle_mood("console", "fay", "calm")
    assert [t.id for t in after.tracks] != [t.id for t in before.tracks]


def test_flood_limit_answers_politely(pipeline, store, astronaut_jpeg):
    service = ChatService(pipeline, store, photos_per_minute=2)
    answers = [service.handle_photo("discord", "9", astronaut_jpeg) for _ in range(3)]
    assert [a.kind for a in answers] == [AnswerKind.TRACKS, AnswerKind.TRACKS, AnswerKind.INFO]
    assert answers[-1].text == messages.TOO_MANY_PHOTOS


def test_reject_photo_is_friendly():
    answer = ChatService.reject_photo(ImageTooLarge("25000000 bytes"))
    assert answer.kind is AnswerKind.REJECTED and "too big" in answer.text and answer.offer_moods
