"""The `moodtunes` command: one Typer app, one subcommand per job."""
