"""Engines a migration runs on: ``local`` (the supervisor in this process) or ``ray`` (shards on a cluster).

Public: ``shards.plan_shards`` (pure key-range planning) and, imported only
when used, ``ray_engine.run_on_ray``.
"""
