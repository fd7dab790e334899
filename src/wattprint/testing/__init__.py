"""Public test helpers: fake and replay sensors, fake vendor libraries.

Use them to test your own integrations without hardware.
"""

from ._sensors import FakeSensor, ReplaySensor

__all__ = ["FakeSensor", "ReplaySensor"]
