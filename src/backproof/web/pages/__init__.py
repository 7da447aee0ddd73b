"""The HTML pages of the dashboard: one module per page family."""
