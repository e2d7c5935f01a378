"""Chat adapters (console, Telegram, Discord) over the one core pipeline and the db store."""
