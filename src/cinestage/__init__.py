"""cinestage: automatic virtual cinematography for staged performances."""

__version__ = "0.1.0"
