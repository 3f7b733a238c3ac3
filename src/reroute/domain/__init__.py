"""The domain core: plain Python, standard library only.

Nothing here imports FastAPI, SQLAlchemy or any I/O; services load state, call these
functions and save what they return.
"""
