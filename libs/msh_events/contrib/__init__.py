"""msh_events for a web framework that brings its own models and commands (Django)."""
