"""The DIMSE front door of the archive: pynetdicom handlers that translate DICOM messages to archive services.

``server.py`` builds the application entity and binds the handlers; ``associations.py`` decides who may
associate and logs every association; ``handlers/`` holds one module per service (PS3.4): Verification,
Storage, Query/Retrieve (C-FIND, C-MOVE, C-GET) and Storage Commitment. The handlers hold no archive logic:
they call the ingest pipeline, the query engine and the retrieve service that DICOMweb uses too.
"""
