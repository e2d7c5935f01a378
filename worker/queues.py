"""The photo queue and its dead letters, declared identically by front ends and workers (RabbitMQ refuses a
queue re-declared with other arguments).

The photo queue is a quorum queue: it counts every delivery of a message, including those a crashed worker
gave back, and after ``max_deliveries`` of them dead-letters the message instead of handing it out again. The
dead-letter exchange is a fanout to two queues: ``<queue>.dead`` keeps the photo jobs for an admin to inspect
(bounded in length), and ``<queue>.dead.notify`` is read by the workers, which record the job as failed so
that the waiting front end answers at once."""

from __future__ import annotations

from kombu import Exchange, Queue

# A dead-letter queue is an inspection aid, not an archive of photos: oldest dropped past this many.
DEAD_LETTERS_KEPT = 1000


def dead_letter_exchange(queue: str) -> Exchange:
    return Exchange(f"{queue}.dead", type="fanout", durable=True)


def photo_queue(queue: str, max_deliveries: int) -> Queue:
    # A topic exchange (used with the exact name as key) is what Celery's delayed delivery on quorum queues expects.
    return Queue(queue, Exchange(queue, type="topic", durable=True), routing_key=queue, durable=True,
                 queue_arguments={
                     "x-queue-type": "quorum",
                     # The limit counts returns: a message given back this many times is dead-lettered on the
                     # next return, after max_deliveries deliveries in all (tests/worker: crashes == deliveries).
                     "x-delivery-limit": max_deliveries - 1,
                     "x-dead-letter-exchange": dead_letter_exchange(queue).name,
                 })


def kept_dead_letters(queue: str) -> Queue:
    return Queue(f"{queue}.dead", dead_letter_exchange(queue), durable=True,
                 queue_arguments={"x-max-length": DEAD_LETTERS_KEPT})


def dead_letter_notices(queue: str) -> Queue:
    return Queue(f"{queue}.dead.notify", dead_letter_exchange(queue), durable=True,
                 queue_arguments={"x-max-length": DEAD_LETTERS_KEPT})
