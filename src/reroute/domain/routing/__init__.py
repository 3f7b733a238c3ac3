"""Routing: which facility takes each queued item (SPEC section 5).

`rules` is the document an admin edits; `sites` is what routing knows of facilities and stock;
`engine` chooses, one order at a time, against an in-memory snapshot it keeps up to date.
"""
