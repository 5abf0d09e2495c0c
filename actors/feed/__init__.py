"""Events of the node's tasks: ``actors.Event`` (``event``), the bounded bus that delivers
them to subscribers from one dispatcher thread (``bus``), and what follows the changes other
nodes record in the shared store (``follow``)."""
