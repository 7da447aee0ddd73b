"""The content-addressed files store: uploaded files stored once per destination (issue 13).

A backup of a target's files walks the folders, cuts each file into blobs (content-defined
chunks for large files, one blob for a small one), and uploads only the blobs the destination
does not hold yet, packed together into pack objects. The backup's ``files`` part is then a
list of every file (path, size, mode, mtime, content addresses) instead of a tar. The layout in
storage is described in ``docs/storage.md`` and named in ``layout``.
"""
