"""The database layer shared by sources and targets.

``urls`` (every URL xmlshred takes, parsed once), ``secrets`` (the password
masker), ``dialect``/``dialects`` (one record per database), ``sql`` (statement
builders; names checked with ``vocab.names``), ``errors`` (exceptions and their
classification by SQLSTATE/driver code), ``values`` (row values per database),
``spec`` (a target URL + ODBC settings -> ``TargetSpec``; ``target_spec(settings)``),
``sqlite``/``odbc`` (opening a connection; pyodbc only on first ODBC use).

Import the submodules themselves: this file imports nothing, so settings can use
``db.urls`` without loading the SQL layer.
"""
