"""Which usage purposes are the application's own traffic, and which are the admin's checks.

Test connection, health checks, the wizard and demo rows spend (few) tokens too, but they are
not what the application did: the usage views show them apart by default.
"""
APPLICATION_PURPOSES = ("gateway", "client", "batch", "cli")
CHECK_PURPOSES = ("test", "health", "wizard", "demo")
