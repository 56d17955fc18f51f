"""runtime: running builds.

Takes: a build and the arguments of a call. Returns: its result. ``compiled`` turns generated
source into functions (registered in ``linecache``) and keeps the IEEE fallback; ``dispatch`` maps
a call's arguments to their kinds and the cached specialisation for them; ``stack`` runs deep work
on a worker thread with a C stack deep enough for the recursion limit it sets.
"""
