"""Shared vocabulary: plain names and values every layer may import (no engine, no I/O)."""
