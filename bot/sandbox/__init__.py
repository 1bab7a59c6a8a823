"""The local sandbox: the real app against the simulated Slack, shown as a web page."""
