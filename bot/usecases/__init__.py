"""Use cases: the app's multi-step actions that span Slack and the database (post, store, take
back), callable from listeners, jobs and commands alike; listeners only turn their outcomes
into replies. Rules stay in `bot.domain`, messages owed go through `bot.delivery`."""
