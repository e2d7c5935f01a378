"""MoodTunes core: photo -> faces -> emotion -> mood -> tracks. Imports no chat library and no database."""
