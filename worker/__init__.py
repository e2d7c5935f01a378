"""Inference workers: Celery processes that take photo jobs from RabbitMQ, run the expensive half of a photo
(PhotoAnalyzer.analyze: faces + emotions) and send the result back. The chat front end keeps the cheap, per-user
half (recommendation, database). Nothing here is imported unless BROKER_URL is set."""
