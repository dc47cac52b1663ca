"""What lives on an Avamar utility node: paths, commands and the operations on them."""
