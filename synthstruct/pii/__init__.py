"""Personal data detection: the low layer every other package may use.

Entity types (:mod:`~synthstruct.pii.entities`), recognizers, the Presidio engine and the NER fast
path, column classification and the text scanner. This package imports only :mod:`synthstruct.errors`,
:mod:`synthstruct._yaml` and :mod:`synthstruct._resources` from synthstruct (checked by
``tests/contracts/test_import_graph.py``); schema, privacy metrics, text generation and release sit above.
"""
