"""The sandbox settings: used when no production setting is configured.

The suite starts the stand-ins with these options and takes the settings they
write (the same names as ``variables/production.py``).
"""

SEED = 1
DELIVERY_DELAY = 1.0
START_TIMEOUT = 60
