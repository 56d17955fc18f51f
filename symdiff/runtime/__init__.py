"""runtime: running builds.

Takes: a build to run. Returns: its result; ``stack`` runs it on a worker thread with a C stack deep
enough for the recursion limit it sets.
"""
