"""feedsvc: publish a folder of plain-text articles as RSS, Atom and JSON Feed."""

__version__ = "0.1.0"
