"""The local sandbox: the real app against the simulated Slack, shown as a web page."""

# The sandbox's database unless `--database-url` says otherwise; the CLI's `--sandbox` reads it.
DEFAULT_DATABASE_URL = "sqlite:///sandbox.db"
