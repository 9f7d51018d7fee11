"""The thin click CLI: each command parses options, calls one library function, renders."""
