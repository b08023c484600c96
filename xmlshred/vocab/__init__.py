"""Shared vocabulary: the plain values every layer speaks (schema, mapping results,
engine table names, the identifier rule, exit codes). A leaf: nothing here imports
any other part of xmlshred, so importing it never loads the contract engine or a
database driver."""
