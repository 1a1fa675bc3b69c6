"""Configuration: start-up settings (`settings.py`) and the community data model (`community.py`)."""
