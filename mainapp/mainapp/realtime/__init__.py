"""Real-time notifications over WebSockets (Django Channels): ``/ws/notifications``.

Each socket belongs to one user, authenticated by an access token offered as a subprotocol; it
joins the user's group, the staff group for staff, and everyone's. What is sent is at most once:
a client re-reads state over REST when it reconnects.
"""
