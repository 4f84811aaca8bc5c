"""hookd: a VRRP daemon that replaces keepalived and the notify scripts hung off it."""

__version__ = "0.1.0"
