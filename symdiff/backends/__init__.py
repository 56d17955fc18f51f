"""backends: scheduled lines -> source text.

Takes: a scheduled gradient program. Returns: Python (``python_code``: compiled, registered in
linecache), C99 for numbers (``c_code``) and for 1-D arrays (``c_arrays``); ``safe_text`` makes
outside strings safe inside generated code.
"""
