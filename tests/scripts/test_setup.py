"""scripts/setup.sh installs only when needed: the first time, after pyproject.toml changed, or for new extras;
otherwise it does nothing, so a set-up checkout needs no network."""

from __future__ import annotations

NO_OP_S = 2.0  # a hash of pyproject.toml and a comparison; generous for a busy machine


def test_first_setup_installs_without_network_then_a_second_does_nothing(checkout):
    assert checkout.first_setup.returncode == 0, checkout.first_setup.stderr
    assert "Installing MoodTunes into .venv" in checkout.first_setup.stderr
    assert (checkout.root / ".venv" / "bin" / "moodtunes").is_file()
    again, seconds = checkout.setup()
    assert again.returncode == 0, again.stderr
    assert again.stdout == again.stderr == ""
    assert seconds < NO_OP_S, f"a set-up checkout took {seconds:.2f} s to check"


def test_a_changed_pyproject_reinstalls_once(checkout):
    stamp = checkout.root / ".venv" / "moodtunes-install.txt"
    pyproject = checkout.root / "pyproject.toml"
    pyproject.write_text(pyproject.read_text() + "\n# a changed project file\n")
    changed, _ = checkout.setup()
    assert changed.returncode == 0, changed.stderr
    assert "Installing MoodTunes into .venv" in changed.stderr
    installed = stamp.read_text()
    again, _ = checkout.setup()
    assert again.stderr == "" and stamp.read_text() == installed
