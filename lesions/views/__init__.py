"""Server-rendered pages. Thin: forms validate input, services write, selectors read."""
