"""One module per DIMSE service; each handler is a plain function of the pynetdicom event and its dependencies."""
