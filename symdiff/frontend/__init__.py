"""frontend: the user's function -> an SSA program (``symdiff.ir``).

Takes: a Python function (its source, globals and closure) and the kinds of its arguments.
Returns: a ``Program`` — one SymPy expression per statement, branches on data as ``Branch``/``Merge``.
``parse`` checks the source; ``interpreter`` executes the body (statements and expressions) over
SymPy values with four collaborators: ``scope`` (frames, globals, closure cells, guards),
``array_values`` (arrays and lists), ``control`` (if/for/while/return/break and their joins) and
``calls`` (library calls by their rules, helpers inlined; ``signatures`` binds their arguments);
``values`` says what a traced value is and ``signals`` what passes between statements.
"""
