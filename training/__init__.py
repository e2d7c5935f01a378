"""Admin scripts: retrain the emotion model, rebuild the track index."""
