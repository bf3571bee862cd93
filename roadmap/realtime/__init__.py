"""Live updates: the Socket.IO namespace and the one publisher."""
