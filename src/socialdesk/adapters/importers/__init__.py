"""File formats that importers read into normalised messages."""
