"""Coaching a team (issue 12): a trainer's dashboard, reviews of calls, assignments and
assessments. Core logic only: the web views (`roleplay.web.dashboard`, `roleplay.web.review`)
and the CLI call it; nothing here imports Gradio."""
