"""frontend: the user's function -> an SSA program (``symdiff.ir``).

Takes: a Python function (its source, globals and closure) and the kinds of its arguments.
Returns: a ``Program`` — one SymPy expression per statement, branches on data as ``Branch``/``Merge``.
``parse`` checks the source; ``interpreter`` executes the body over SymPy values, with ``control``
(if/for/while/return/break), ``array_values`` (arrays and lists), ``signatures`` (binding a call's
arguments), ``values`` (what a traced value is) and ``signals`` (what passes between statements).
"""
