"""What the two SQL stores share (stdlib only): the row codec (``codec``) and the node,
lease and schedule transitions written once in SQL both dialects accept (``cluster``)."""
