"""primitives: what symdiff knows how to differentiate.

Takes: a Python callable or operator met in the user's code. Returns: the SymPy expression that
stands for it. ``registry`` holds one ``Primitive`` record per supported callable (the tracer's one
lookup, the printers' names); ``scalar`` (math/numpy/builtin functions of numbers), ``numpy_calls``
and ``builtin_calls`` (calls handled structurally) and ``user_rules`` (``symdiff.register``) add
records to it, ``helper_code`` the ``Helper`` s (functions the generated code defines, in Python
and C) that records spell their calls with. ``arrays`` are the array operations with their adjoints, ``sympy_functions`` the
SymPy classes SymPy lacks, ``faithful`` Python's IEEE arithmetic; ``nodes`` and ``signs`` build
SymPy nodes cheaply and safely.
"""
